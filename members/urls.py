from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("new/", views.member_create, name="create"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/edit/", views.member_edit, name="edit"),
    path("<int:pk>/consents/", views.consent_grant, name="consent_grant"),
    path(
        "<int:pk>/consents/<str:purpose>/withdraw/", views.consent_withdraw, name="consent_withdraw"
    ),
]
