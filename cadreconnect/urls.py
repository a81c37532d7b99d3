from django.contrib import admin
from django.urls import include, path

from accounts.views import language_set
from cadreconnect import views

admin.site.site_header = "CadreConnect"
admin.site.site_title = "CadreConnect"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("system/worker-pings/", views.worker_ping_list, name="worker_ping_list"),
    path("system/worker-pings/new/", views.worker_ping, name="worker_ping"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("groups/", include("groups.urls")),
    path("members/", include("members.urls")),
    path("content/", include("content.urls")),
    path("api/", include("cadreconnect.api_urls")),
    # The language switch (on the sign-in page too); it keeps a signed-in user's choice.
    path("i18n/setlang/", language_set, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
