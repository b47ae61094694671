"""Accounts: given out by an administrator (no self sign-up), and API tokens."""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.accounts import access, tokens
from smsdesk.accounts.models import (
    ApiToken,
    LoginSession,
    PasswordResetRequest,
    Scope,
    User,
    role_scopes,
)
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import tenancy, text
from smsdesk.core.errors import ServiceError, collect
from smsdesk.mail import services as mail_services

TOKEN_PREFIX = tokens.TOKEN_PREFIX


MAX_USERNAME = 150
MAX_EMAIL = 254  # the column's size (RFC 5321's path limit)


class AccountError(ServiceError):
    code = "invalid_account"


class LastAdministrator(AccountError):
    code = "last_admin"
    http_status = 409


class LockedOut(AccountError):
    code = "locked_out"
    http_status = 429


def check_username(username: str) -> str:
    username = text.check_typed(username.strip(), field="username", label=_("User name"))
    if not username:
        raise AccountError(_("A user name is required."), field="username")
    if len(username) > MAX_USERNAME:
        raise AccountError(
            _("A user name has at most %(max)d characters.") % {"max": MAX_USERNAME},
            field="username",
        )
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(
            _("The user %(name)s already exists.") % {"name": username}, field="username"
        )
    return username


# Roles inside an organisation (the platform administrator is made by `create_user(...,
# role=PLATFORM)` only from the command line: `createuser --platform-admin`).
ORGANISATION_ROLES = (User.Role.ADMIN, User.Role.OPERATOR, User.Role.READ_ONLY)


def check_role(role: str) -> str:
    if role not in ORGANISATION_ROLES:
        raise AccountError(_("Choose a role: administrator, operator or read only."), field="role")
    return role


def check_password(password: str, user: User) -> str:
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise AccountError(" ".join(e.messages), field="password") from None
    return password


@transaction.atomic
def create_user(
    *,
    username: str,
    password: str,
    role: str = User.Role.OPERATOR,
    org: Any = None,
    platform: bool = False,
    email: str = "",
) -> User:
    """A member of staff of organisation `org` (None: the only one), or with `platform` the
    platform administrator (the provider), who belongs to none."""
    email = check_email(email)
    if platform:
        username = check_username(username)
        role = User.Role.PLATFORM
        org = None
    else:
        username, role = collect(lambda: check_username(username), lambda: check_role(role))
        org = tenancy.resolve(org)
    candidate = User(username=username, role=role, organisation=org, email=email)
    check_password(password, candidate)
    candidate.set_password(password)
    candidate.is_staff = role == User.Role.ADMIN
    candidate.save()
    audit.record(Action.USER_CREATE, candidate, after={"role": role, "email": email})
    return candidate


def _keep_one_admin(user: User) -> None:
    """Refuse a change that would leave the user's organisation with no active administrator
    (nobody could manage its users). The administrators' rows are locked so that two such
    changes at once cannot both pass."""
    admins = list(
        User.objects.select_for_update()
        .filter(role=User.Role.ADMIN, is_active=True, organisation_id=user.organisation_id)
        .values_list("id", flat=True)
    )
    if admins == [user.id]:
        raise LastAdministrator(
            _("%(name)s is the last active administrator: make another user administrator first.")
            % {"name": user.username}
        )


@transaction.atomic
def set_role(*, user: User, role: str) -> User:
    check_role(role)
    if user.role == User.Role.ADMIN and role != User.Role.ADMIN:
        _keep_one_admin(user)
    audit.record(Action.USER_ROLE, user, before={"role": user.role}, after={"role": role})
    user.role = role
    user.is_staff = role == User.Role.ADMIN
    user.save(update_fields=["role", "is_staff"])
    return user


@transaction.atomic
def set_active(*, user: User, active: bool) -> User:
    """Suspend (the user is logged out everywhere, can no longer log in, and their API tokens
    stop working) or reactivate (the tokens work again; the sessions stay ended)."""
    if not active and user.role == User.Role.ADMIN:
        _keep_one_admin(user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(Action.USER_REACTIVATE if active else Action.USER_SUSPEND, user)
    # On reactivation too: a login that was being answered while the suspension was saved
    # could have written its session after it; none may outlive the suspension.
    end_sessions(user)
    return user


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """End the user's login sessions, all of them or all but `keep` (the key of the session
    that asked): one DELETE on an index, whatever the number of sessions."""
    sessions = LoginSession.objects.filter(user_id=user.pk)
    if keep:
        sessions = sessions.exclude(session_key=keep)
    return sessions.delete()[0]


@transaction.atomic
def reset_password(*, user: User, password: str = "") -> str:
    """Give `user` a new password (generated when none is given), shown once to the admin.
    The user is logged out everywhere and their API tokens are revoked."""
    password = password or generate_password()
    check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    password_set(user)
    audit.record(Action.PASSWORD_RESET, user)
    return password


def change_own_password(*, user: User, old: str, new: str, request: HttpRequest) -> int:
    """The user changes their own password from the browser of `request`, which stays logged
    in; their other sessions end and their API tokens are revoked (how many: returned)."""
    _check_current_password(user, old, request)
    check_password(new, user)
    with transaction.atomic():
        user.set_password(new)
        user.save(update_fields=["password"])
        revoked = password_set(user, keep_session=request.session.session_key)
        audit.record(Action.PASSWORD_CHANGE, user, actor=user, after={"tokens_revoked": revoked})
    update_session_auth_hash(request, user)  # this browser's session follows the new password
    return revoked


def _check_current_password(user: User, password: str, request: HttpRequest) -> None:
    """Check the password the way the login form does, through django-axes: a wrong one counts
    as a failed login of this user name from this address (one count with the login form,
    SMSDESK_LOGIN_FAILURES), and a locked-out name is refused even with the right one. So a
    session left open on a shared PC gives no more guesses than the login form."""
    if authenticate(request, username=user.get_username(), password=password) == user:
        return
    if getattr(request, "axes_locked_out", False):
        # Said beside the field: axes' whole-page answer would read as being logged out.
        request.axes_locked_out = False
        minutes = lockout_minutes()
        raise LockedOut(
            ngettext(
                "Too many wrong passwords: this user name is locked from this computer for "
                "%(minutes)s minute. Wait, then try again, or ask your administrator to reset "
                "your password.",
                "Too many wrong passwords: this user name is locked from this computer for "
                "%(minutes)s minutes. Wait, then try again, or ask your administrator to "
                "reset your password.",
                minutes,
            )
            % {"minutes": minutes},
            field="old_password",
        )
    raise AccountError(_("The current password is not right."), field="old_password")


def lockout_minutes() -> int:
    """How long a user name stays locked after too many wrong passwords (django-axes)."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def password_set(user: User, *, keep_session: str | None = None) -> int:
    """What a new password ends, whoever set it: every session of the user but `keep_session`
    (the browser that changed it), and every API token (a password changed because it leaked
    must not leave a token made with it working). Returns the number of tokens revoked.
    Any new way of setting a password (a reset by email) calls this too."""
    end_sessions(user, keep=keep_session)
    return ApiToken.objects.for_org(user.organisation_id).filter(user=user).delete()[0]


def generate_password() -> str:
    return secrets.token_urlsafe(12)


class InvalidScope(AccountError):
    code = "invalid_scope"


MAX_EXPIRES_DAYS = 3650
MAX_RECIPIENTS_PER_DAY = 100_000_000


def check_recipients_per_day(value: object) -> int:
    """A token's limit of recipients per day: a whole number, 0 (or nothing) for none."""
    text_value = str(value if value is not None else "").strip()
    if not text_value:
        return 0
    if not (text_value.isascii() and text_value.isdigit()) or (
        int(text_value) > MAX_RECIPIENTS_PER_DAY
    ):
        raise AccountError(
            _("A limit of recipients per day is a whole number from 0 (no limit) to %(max)d.")
            % {"max": MAX_RECIPIENTS_PER_DAY},
            field="recipients_per_day",
        )
    return int(text_value)


MAX_QUOTA = 100_000_000


def whole_limit(
    value: object, field: str, refusal: str, error: type[ServiceError] = AccountError
) -> int:
    """A limit typed in a form or on the command line: a whole number from 0 (or nothing:
    no limit) to MAX_QUOTA, else `error(refusal)` naming `field`."""
    text_value = str(value if value is not None else "").strip()
    if not text_value:
        return 0
    if not (text_value.isascii() and text_value.isdigit()) or int(text_value) > MAX_QUOTA:
        raise error(refusal, field=field)
    return int(text_value)


def check_quota(value: object, field: str) -> int:
    """A quota of SMS parts (an organisation's, a user's)."""
    return whole_limit(
        value,
        field,
        _("A quota is a whole number of SMS parts from 0 (no limit) to %(max)d.")
        % {"max": MAX_QUOTA},
    )


@transaction.atomic
def set_user_quota(
    *, by: Any, user: User, per_day: object = None, per_month: object = None
) -> User:
    """An administrator of the user's organisation gives them SMS parts per local day and
    per month of their own (0: none; None keeps what is set). A send of theirs over either
    is refused whole (messaging/quotas.py), as the organisation's quotas are."""
    access.require_admin(by, _("Only an administrator sets a user's quota."))
    if user.is_platform:
        raise AccountError(_("A platform administrator sends nothing: no quota to set."))
    if by is not None and by.organisation_id != user.organisation_id:
        raise access.NotAllowed(_("This user is not in your organisation."))
    day, month = collect(
        lambda: user.quota_day if per_day is None else check_quota(per_day, "quota_day"),
        lambda: user.quota_month if per_month is None else check_quota(per_month, "quota_month"),
    )
    _change_setting(user, "quota_day", day)
    _change_setting(user, "quota_month", month)
    return user


def create_token(
    *,
    user: User,
    name: str = "",
    scopes: Iterable[str] | None = None,
    expires_days: int | None = None,
    recipients_per_day: object = None,
) -> tuple[ApiToken, str]:
    """A new API token; the raw value is returned once and never stored. `scopes`: those
    given (each one the user's role allows), or every scope of the role when None;
    `expires_days`: it stops working that many days from now (None: never). Without
    `scopes` the token follows its user's role (stored as None: every scope of the role).
    `recipients_per_day`: the distinct recipients its sends may reach per local day of the
    organisation (None, "" or 0: no limit of its own; messaging/quotas.py counts them)."""
    name = text.check_typed(name.strip(), field="name", label=_("Label"))
    if user.organisation_id is None:  # the platform administrator has no customer data
        raise AccountError(_("A platform administrator has no API token."))
    role = role_scopes(user)
    chosen: list[str] | None = None
    if scopes is not None:
        asked = list(dict.fromkeys(str(s)[:40] for s in scopes))
        unknown = [s for s in asked if s not in Scope.values]
        if unknown or not asked:
            raise InvalidScope(
                _("Unknown scope: %(unknown)s. Scopes: %(known)s.")
                % {"unknown": ", ".join(unknown) or "-", "known": ", ".join(Scope.values)},
                field="scope",
            )
        beyond = [s for s in asked if s not in role]
        if beyond:
            raise InvalidScope(
                _("%(user)s's role does not allow %(scopes)s.")
                % {"user": user.get_username(), "scopes": ", ".join(beyond)},
                field="scope",
            )
        chosen = [s for s in Scope.values if s in asked]
    expires_at = None
    if expires_days is not None:
        if not 1 <= expires_days <= MAX_EXPIRES_DAYS:
            raise InvalidScope(
                _("The expiry is a number of days from 1 to %(max)d.") % {"max": MAX_EXPIRES_DAYS},
                field="expires_days",
            )
        expires_at = timezone.now() + timedelta(days=expires_days)
    recipients_day = check_recipients_per_day(recipients_per_day)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organisation_id=user.organisation_id,
        user=user,
        name=name[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=ApiToken.digest_of(raw),
        scopes=chosen,
        expires_at=expires_at,
        recipients_day=recipients_day,
    )
    audit.record(
        Action.TOKEN_CREATE,
        token,
        after={
            "user": user.get_username(),
            "prefix": token.prefix,
            "scopes": chosen,
            **({"recipients_per_day": recipients_day} if recipients_day else {}),
        },
        label=f"{token.name or '-'} ({token.prefix}…)",
    )
    return token, raw


def user_for_token(raw: str) -> User | None:
    token = tokens.find(raw)
    if token is None:
        return None
    tokens.count(token, address=None)
    return token.user


@transaction.atomic
def revoke_token(*, user: User, token_id: int) -> bool:
    token = ApiToken.objects.for_org(user.organisation_id).filter(user=user, id=token_id).first()
    if token is None:
        return False
    audit.record(
        Action.TOKEN_REVOKE,
        token,
        before={"user": user.get_username(), "prefix": token.prefix},
        label=f"{token.name or '-'} ({token.prefix}…)",
    )
    return ApiToken.objects.for_org(user.organisation_id).filter(id=token.id).delete()[0] > 0


def set_notifications(*, user: User, inbound: bool, sound: bool) -> None:
    """The user's choice of notices for new SMS (a sound only comes with a notice)."""
    user.notify_inbound = inbound
    user.notify_sound = sound and inbound
    user.save(update_fields=["notify_inbound", "notify_sound"])


def time_zones() -> list[str]:
    """The zones a user may choose (IANA names, sorted)."""
    return sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )


class BadPreference(ServiceError):
    code = "bad_preference"


def set_preferences(
    *, user: User, language: str | None = None, time_zone: str | None = None
) -> None:
    """The user's language and time zone, kept on their account ("" for the default: French,
    SMSDESK_TIME_ZONE); BadPreference for anything not offered. None: unchanged."""
    fields = []
    if language is not None:
        if language and language not in dict(settings.LANGUAGES):
            raise BadPreference(_("Choose a language from the list."), field="language")
        user.language = language
        fields.append("language")
    if time_zone is not None:
        if time_zone and time_zone not in set(time_zones()):
            raise BadPreference(
                _("Choose a time zone from the list, such as Europe/Paris."), field="time_zone"
            )
        user.time_zone = time_zone
        fields.append("time_zone")
    if fields:
        user.save(update_fields=fields)


# --- email address and mail preferences (Mon compte, `smsdesk user set`) --------------------


def check_email(address: str) -> str:
    address = text.check_typed(address.strip(), field="email", label=_("Email address"))
    if not address:
        return ""
    try:
        if len(address) > MAX_EMAIL:
            raise ValidationError("too long")
        validate_email(address)
    except ValidationError:
        raise AccountError(
            _("“%(address)s” is not an email address.") % {"address": address[:100]},
            field="email",
        ) from None
    return address


def set_email(*, user: User, email: str) -> User:
    """The address the user's mails go to ("" : none; no mail is sent to them)."""
    before = user.email
    user.email = check_email(email)
    user.save(update_fields=["email"])
    if before != user.email:
        audit.record(Action.SETTINGS, user, before={"email": before}, after={"email": user.email})
    return user


def _change_setting(user: User, field: str, value: object) -> None:
    """A user's setting saved, with one audit entry (before and after) when it changes."""
    if getattr(user, field) != value:
        audit.record(
            Action.SETTINGS, user, before={field: getattr(user, field)}, after={field: value}
        )
    setattr(user, field, value)
    user.save(update_fields=[field])


def set_email_copies(*, user: User, copies: str) -> User:
    if copies not in User.EmailCopies.values:
        raise AccountError(
            _("Choose which copies: %(choices)s.")
            % {"choices": ", ".join(User.EmailCopies.values)},
            field="email_copies",
        )
    _change_setting(user, "email_copies", copies)
    if copies != User.EmailCopies.NONE and user.email:
        # chosen again on Mon compte: a "stop these mails" clicked before no longer holds
        mail_services.resume(address=user.email, kind=mail_services.Kind.INBOUND_COPY)
    return user


def set_email_summary(*, user: User, on: bool) -> User:
    """Mon compte: yesterday's figures mailed each morning (notify/notices.py)."""
    _change_setting(user, "email_summary", on)
    if on and user.email:  # chosen again: a "stop these mails" clicked before no longer holds
        mail_services.resume(address=user.email, kind=mail_services.Kind.DAILY_SUMMARY)
    return user


@transaction.atomic
def set_org_require_2fa(*, by: Any, org: Any, required: bool) -> None:
    """An organisation's administrator makes two-factor login compulsory for its users
    (those without a device are sent to its set-up at their next page)."""
    if not access.may_administer(by):
        raise AccountError(_("Only an administrator may change this."), field="require_2fa")
    before = org.require_2fa
    org.require_2fa = required
    org.save(update_fields=["require_2fa"])
    if before != required:
        audit.record(
            Action.SETTINGS,
            ("organisation", org.pk),
            actor=by,
            before={"require_2fa": before},
            after={"require_2fa": required},
            label=org.name,
            org=org,
        )


MAX_COPY_ADDRESSES = 10


def set_org_copy_addresses(*, by: Any, org: Any, addresses: str) -> list[str]:
    """An organisation's administrator names addresses (a shared mailbox) that get a copy
    of every SMS it receives (notify/copies.py): one a line or comma separated, each checked,
    at most MAX_COPY_ADDRESSES, each once."""
    if not access.may_administer(by):
        raise AccountError(_("Only an administrator may change this."), field="copy_addresses")
    kept: list[str] = []
    for raw in addresses.replace(",", "\n").splitlines():
        address = check_email(raw)
        if address and address.lower() not in {a.lower() for a in kept}:
            kept.append(address)
    if len(kept) > MAX_COPY_ADDRESSES:
        raise AccountError(
            _("At most %(n)d addresses.") % {"n": MAX_COPY_ADDRESSES}, field="copy_addresses"
        )
    before = org.copy_addresses
    org.copy_addresses = "\n".join(kept)
    org.save(update_fields=["copy_addresses"])
    if before != org.copy_addresses:
        audit.record(
            Action.SETTINGS,
            ("organisation", org.pk),
            actor=by,
            before={"copy_addresses": before.split("\n") if before else []},
            after={"copy_addresses": kept},
            label=org.name,
            org=org,
        )
    return kept


MAX_SIGNATURE = 100


def set_signature(*, user: User, signature: str) -> User:
    """Mon compte and `smsdesk user set --signature`: the line put under each New SMS and
    reply the user writes ("" for none). One or two short lines, no control characters."""
    signature = text.check_typed(
        str(signature).replace("\r\n", "\n").strip(),
        field="signature",
        label=_("Signature"),
        multiline=True,
    )
    if len(signature) > MAX_SIGNATURE or signature.count("\n") > 1:
        raise BadPreference(
            _("A signature has at most %(max)d characters, on one or two lines.")
            % {"max": MAX_SIGNATURE},
            field="signature",
        )
    _change_setting(user, "signature", signature)
    return user


def set_require_2fa(*, user: User, required: bool) -> User:
    _change_setting(user, "require_2fa", required)
    return user


# --- password reset by email (accounts/reset.py) ---------------------------------------------


class TooManyResets(AccountError):
    code = "too_many_resets"
    http_status = 429


def count_reset_request(*, email: str, ip: str) -> None:
    """Count one request for a reset link, refused beyond SMSDESK_PASSWORD_RESET_PER_HOUR
    for that address or from that client in the last hour. Counted whether or not the
    address is a user's: the answer cannot tell who has an account."""
    now = timezone.now()
    hour = now - timedelta(hours=1)
    limit = settings.SMSDESK_PASSWORD_RESET_PER_HOUR
    email = email.strip().lower()[:254]
    recent = PasswordResetRequest.objects.filter(at__gte=hour)
    if recent.filter(email=email).count() >= limit or recent.filter(ip=ip).count() >= limit:
        raise TooManyResets(
            _("Too many reset requests: wait an hour, or ask your administrator."),
            field="email",
        )
    PasswordResetRequest.objects.filter(at__lt=now - timedelta(days=1)).delete()
    PasswordResetRequest.objects.create(email=email, ip=ip[:45], at=now)
