from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "smsdesk.core"
    label = "core"
