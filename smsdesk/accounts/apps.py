import logging

from django.apps import AppConfig

log = logging.getLogger("smsdesk.accounts.login")


class AccountsConfig(AppConfig):
    name = "smsdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        user_login_failed.connect(log_failed_login, dispatch_uid="smsdesk-log-failed-login")
        user_logged_in.connect(audit_login, dispatch_uid="smsdesk-audit-login")


def log_failed_login(sender, credentials, request=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """One line per failed login, with the user name tried and the address it came from."""
    address = request.META.get("REMOTE_ADDR", "?") if request is not None else "?"
    username = str(credentials.get("username", ""))[:150]
    log.warning("failed login for user name %r from %s", username, address)
    from smsdesk.audit import services as audit
    from smsdesk.audit.models import Action

    audit.record(Action.LOGIN_FAILED, ("user", ""), label=username, ip=address)


def audit_login(sender, request=None, user=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """A login, whatever view made it (the password form, or its second step)."""
    from smsdesk.audit import services as audit
    from smsdesk.audit.models import Action

    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    audit.record(Action.LOGIN, user, actor=user, ip=address)
