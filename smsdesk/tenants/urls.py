from django.urls import path

from smsdesk.tenants import views

app_name = "platform"
urlpatterns = [
    path("", views.home, name="home"),
]
