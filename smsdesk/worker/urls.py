from django.urls import path

from smsdesk.worker import views

app_name = "worker"
urlpatterns = [
    path("", views.gateways, name="gateways"),
    path("states/", views.gateways_panel, name="gateways_panel"),
    path("test/", views.test_send, name="test_send"),
    path("lines/<str:name>/pause/", views.line_pause, name="line_pause"),
    path("lines/<str:name>/resume/", views.line_resume, name="line_resume"),
    path("lines/<str:name>/routing/", views.line_routing, name="line_routing"),
    path("lines/<str:name>/reset/", views.line_reset, name="line_reset"),
    path("callback/<str:line>/<str:secret>/", views.callback, name="callback"),
]
