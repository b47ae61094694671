from django.urls import path

from smsdesk.notify import views

app_name = "notify"
urlpatterns = [
    path("", views.inbound, name="inbound"),
    # Mailgun posts the raw mail (body-mime) only to a URL whose path ends in "mime"
    path("mime", views.inbound, name="inbound_mime"),
]
