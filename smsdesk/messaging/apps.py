from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_partitions(using: str = "default", **kwargs: Any) -> None:
    """The message table's months ahead, after every `migrate` (PostgreSQL)."""
    from smsdesk.messaging import partitions

    partitions.ensure(using)


class MessagingConfig(AppConfig):
    name = "smsdesk.messaging"
    label = "messaging"

    def ready(self) -> None:
        from smsdesk.core import hooks
        from smsdesk.messaging import links, partitions, quotas, receiving, stop
        from smsdesk.messaging.models import Message

        hooks.add_menu_badge("messaging:unread", receiving.unread_total)
        hooks.set_number_link(links.conversation_url)
        hooks.set_user_quota_use(quotas.users_usage)
        stop.register()
        hooks.set_partitioned(Message, "created_at", partitions.ranges)
        post_migrate.connect(
            _ensure_partitions, sender=self
        )  # an opt-out blocks what waits for the number (optout imports us not)
