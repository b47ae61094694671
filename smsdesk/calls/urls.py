from django.urls import path

from smsdesk.calls import views

app_name = "calls"
urlpatterns = [path("", views.call_list, name="list")]
