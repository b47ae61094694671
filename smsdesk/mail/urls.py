from django.urls import path

from smsdesk.mail import views

app_name = "mail"
urlpatterns = [
    path("stop/<str:token>/", views.stop, name="stop"),
]
