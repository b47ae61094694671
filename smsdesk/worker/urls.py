from django.urls import path

from smsdesk.worker import views

app_name = "worker"
urlpatterns = [
    path("", views.gateways, name="gateways"),
    path("states/", views.gateways_panel, name="gateways_panel"),
    path("test/", views.test_send, name="test_send"),
    path("callback/<str:line>/<str:secret>/", views.callback, name="callback"),
]
