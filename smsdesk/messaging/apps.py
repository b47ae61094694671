from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "smsdesk.messaging"
    label = "messaging"

    def ready(self) -> None:
        from smsdesk.core import hooks
        from smsdesk.messaging import links, quotas, receiving, stop

        hooks.add_menu_badge("messaging:unread", receiving.unread_total)
        hooks.set_number_link(links.conversation_url)
        hooks.set_user_quota_use(quotas.users_usage)
        stop.register()  # an opt-out blocks what waits for the number (optout imports us not)
