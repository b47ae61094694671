from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "smsdesk.calls"
    label = "calls"
