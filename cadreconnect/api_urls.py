from django.urls import path

from groups import api as groups_api

urlpatterns = [
    path("groups/", groups_api.GroupList.as_view(), name="api-groups"),
    path("groups/<int:pk>/", groups_api.GroupDetail.as_view(), name="api-group"),
    path(
        "groups/<int:pk>/children/",
        groups_api.GroupChildren.as_view(),
        name="api-group-children",
    ),
]
