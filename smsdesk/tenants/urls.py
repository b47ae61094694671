from django.urls import path

from smsdesk.tenants import views

app_name = "platform"
urlpatterns = [
    path("", views.home, name="home"),
    path("organisations/new/", views.create, name="create"),
    path("organisations/<slug:slug>/suspend/", views.suspend, name="suspend"),
    path("organisations/<slug:slug>/resume/", views.resume, name="resume"),
    path("organisations/<slug:slug>/lines/", views.assign_line, name="assign_line"),
    path("organisations/<slug:slug>/admin/", views.create_admin, name="create_admin"),
    path("organisations/<slug:slug>/quota/", views.quota, name="quota"),
    path("organisations/<slug:slug>/retention/", views.retention, name="retention"),
    path("organisations/<slug:slug>/enter/", views.enter, name="enter"),
    path("leave/", views.leave, name="leave"),
]
