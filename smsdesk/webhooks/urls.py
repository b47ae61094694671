from django.urls import path

from smsdesk.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.create, name="create"),
    path("<int:endpoint_id>/", views.detail, name="detail"),
    path("<int:endpoint_id>/enabled/", views.toggle, name="toggle"),
    path("<int:endpoint_id>/delete/", views.delete, name="delete"),
    path(
        "<int:endpoint_id>/deliveries/<int:delivery_id>/again/",
        views.send_again,
        name="send_again",
    ),
]
