from django.urls import path

from content import views

app_name = "content"

urlpatterns = [
    path("", views.library, name="library"),
    path("mine/", views.content_mine, name="mine"),
    path("new/", views.content_create, name="create"),
    path("preview/", views.content_preview, name="preview"),
    path("review/", views.review_queue, name="review"),
    path("media/<int:pk>/", views.content_media, name="media"),
    path("<int:pk>/", views.content_detail, name="detail"),
    path("<int:pk>/edit/", views.content_edit, name="edit"),
    path("<int:pk>/submit/", views.content_submit, name="submit"),
    path("<int:pk>/decide/", views.content_decide, name="decide"),
    path("<int:pk>/withdraw/", views.content_withdraw, name="withdraw"),
]
