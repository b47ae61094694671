from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "smsdesk.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from smsdesk.notify import copies

        copies.register()  # the lifecycle tells us of each SMS received
