from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "smsdesk.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from smsdesk.webhooks import events

        events.register()  # the lifecycle, the STOP list and the call log tell us their changes
