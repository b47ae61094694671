from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "smsdesk.messaging"
    label = "messaging"
