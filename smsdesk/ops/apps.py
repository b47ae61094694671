from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running smsdesk in production: health and metrics endpoints, `smsdesk web`,
    `check`, `backup` and `restore`."""

    name = "smsdesk.ops"
    label = "ops"
