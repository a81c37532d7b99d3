from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("new/", views.member_create, name="create"),
    path("import/", views.import_upload, name="import_upload"),
    path("import/in-progress/", views.imports_in_progress, name="imports_in_progress"),
    path("import/<int:pk>/", views.import_status, name="import_status"),
    path("import/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("import/<int:pk>/columns/", views.import_mapping, name="import_mapping"),
    path("import/<int:pk>/run/", views.import_run, name="import_run"),
    path("import/<int:pk>/rejected.csv", views.import_rejects, name="import_rejects"),
    path("export.csv", views.member_export_csv, name="export_csv"),
    path("export.xlsx", views.member_export_xlsx, name="export_xlsx"),
    path("duplicates/", views.member_duplicates, name="duplicates"),
    path("duplicates/merge/", views.member_merge, name="merge"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/edit/", views.member_edit, name="edit"),
    path("<int:pk>/reveal/", views.member_reveal, name="reveal"),
    path("<int:pk>/consents/", views.consent_grant, name="consent_grant"),
    path(
        "<int:pk>/consents/<str:purpose>/withdraw/", views.consent_withdraw, name="consent_withdraw"
    ),
]
