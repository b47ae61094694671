from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "smsdesk.api"
    label = "api"
