from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

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
    # The language switch is on the sign-in page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
