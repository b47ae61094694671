import logging

from django.apps import AppConfig

log = logging.getLogger("smsdesk.accounts.login")


class AccountsConfig(AppConfig):
    name = "smsdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        user_login_failed.connect(log_failed_login, dispatch_uid="smsdesk-log-failed-login")


def log_failed_login(sender, credentials, request=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """One line per failed login, with the user name tried and the address it came from."""
    address = request.META.get("REMOTE_ADDR", "?") if request is not None else "?"
    username = str(credentials.get("username", ""))[:150]
    log.warning("failed login for user name %r from %s", username, address)
