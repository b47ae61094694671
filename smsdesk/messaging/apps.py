from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "smsdesk.messaging"
    label = "messaging"

    def ready(self) -> None:
        from smsdesk.core import hooks
        from smsdesk.messaging import links, services

        hooks.add_menu_badge("messaging:unread", services.unread_total)
        hooks.set_number_link(links.conversation_url)
