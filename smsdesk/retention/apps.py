from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "smsdesk.retention"
    label = "retention"
