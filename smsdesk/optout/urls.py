from django.urls import path

from smsdesk.optout import views

app_name = "optout"
urlpatterns = [path("", views.stop_list, name="list")]
