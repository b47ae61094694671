from django.urls import path

from smsdesk.directory import views

app_name = "directory"
urlpatterns = [
    path("contacts/", views.contacts, name="contacts"),
    path("groups/", views.groups, name="groups"),
]
