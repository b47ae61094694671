"""Accounts: given out by an administrator (no self sign-up), and API tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts.models import ApiToken, User
from smsdesk.core.errors import ServiceError

TOKEN_PREFIX = "smsd_"  # noqa: S105 - a marker, not a secret


class AccountError(ServiceError):
    code = "invalid_account"


def create_user(*, username: str, password: str, role: str = User.Role.OPERATOR) -> User:
    username = username.strip()
    if not username:
        raise AccountError(_("A user name is required."), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(
            _("The user %(name)s already exists.") % {"name": username}, field="username"
        )
    candidate = User(username=username, role=role)
    try:
        validate_password(password, candidate)
    except ValidationError as e:
        raise AccountError(" ".join(e.messages), field="password") from None
    candidate.set_password(password)
    candidate.is_staff = role == User.Role.ADMIN
    candidate.save()
    return candidate


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_token(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new API token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=ApiToken.digest_of(raw),
    )
    return token, raw


def user_for_token(raw: str) -> User | None:
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # At most one write a minute per token: the API must not write on every read.
        ApiToken.objects.filter(id=token.id).update(last_used_at=now)
    return token.user


@transaction.atomic
def revoke_token(*, user: User, token_id: int) -> bool:
    return ApiToken.objects.filter(user=user, id=token_id).delete()[0] > 0


def set_notifications(*, user: User, inbound: bool, sound: bool) -> None:
    """The user's choice of notices for new SMS (a sound only comes with a notice)."""
    user.notify_inbound = inbound
    user.notify_sound = sound and inbound
    user.save(update_fields=["notify_inbound", "notify_sound"])
