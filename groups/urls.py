from django.urls import path

from groups import views

app_name = "groups"

urlpatterns = [
    path("", views.group_browser, name="browser"),
    path("search/", views.group_search, name="search"),
    path("autocomplete/", views.group_autocomplete, name="autocomplete"),
    path("delimitation/", views.delimitation_upload, name="delimitation"),
    path("delimitation/apply/", views.delimitation_apply, name="delimitation_apply"),
    path("delimitation/check/<int:pk>/", views.delimitation_check, name="delimitation_check"),
    path(
        "delimitation/check/<int:pk>/again/",
        views.delimitation_check_again,
        name="delimitation_check_again",
    ),
    path(
        "delimitation/check/<int:pk>/codes.csv",
        views.delimitation_check_codes,
        name="delimitation_check_codes",
    ),
    path("delimitation/booths/", views.delimitation_booths, name="delimitation_booths"),
    path(
        "delimitation/booths/<int:pk>/place/",
        views.delimitation_booth_place,
        name="delimitation_booth_place",
    ),
    path("delimitation/<str:digest>/", views.delimitation_status, name="delimitation_status"),
    path("<int:pk>/", views.group_detail, name="detail"),
    path("<int:pk>/children/", views.group_children, name="children"),
    path("<int:pk>/children/new/", views.group_create_child, name="create_child"),
    path("<int:pk>/edit/", views.group_edit, name="edit"),
    path("<int:pk>/move/", views.group_move, name="move"),
    path("<int:pk>/merge/", views.group_merge, name="merge"),
    path("<int:pk>/deactivate/", views.group_deactivate, name="deactivate"),
    path("<int:pk>/reactivate/", views.group_reactivate, name="reactivate"),
    path("<int:pk>/export.csv", views.group_export, name="export"),
    path("<int:pk>/roles/", views.group_roles, name="roles"),
    path("<int:pk>/roles/<int:assignment_pk>/remove/", views.group_role_remove, name="role_remove"),
]
