from django.apps import AppConfig


class OptoutConfig(AppConfig):
    name = "smsdesk.optout"
    label = "optout"
