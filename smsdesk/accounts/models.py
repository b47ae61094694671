from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from smsdesk.core.tenancy import OrgOwned


class Organisation(models.Model):
    """A customer of the platform (*Espace client*): its staff, lines and data, sealed from
    every other's. A single-customer installation has one, "default", and never shows it."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)  # False: suspended
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # SMS parts it may send per local day and per month (messaging/quotas.py); 0: no limit
    quota_day = models.PositiveIntegerField(_("SMS parts per day"), default=0, db_default=0)
    quota_month = models.PositiveIntegerField(_("SMS parts per month"), default=0, db_default=0)
    # Distinct recipients its sends may reach per local day (messaging/quotas.py); 0: no limit
    recipients_day = models.PositiveIntegerField(_("recipients per day"), default=0, db_default=0)
    # Its administrators made two-factor login compulsory for its users (accounts/twofactor.py)
    require_2fa = models.BooleanField(
        _("two-factor login required"), default=False, db_default=False
    )
    # Data retention (retention/services.py), set by the platform administrator: its
    # messages, calls and audit entries older than this many months go (0: the platform's
    # SMSDESK_RETENTION_MONTHS), deleted or masked (the text blanked, the number masked).
    retention_months = models.PositiveIntegerField(_("retention (months)"), default=0, db_default=0)

    class Retention(models.TextChoices):
        DELETE = "delete", pgettext_lazy("retention", "delete")
        MASK = "mask", pgettext_lazy("retention", "blank the text, mask the number")

    retention_mode = models.CharField(
        _("retention mode"),
        max_length=8,
        choices=Retention,
        default=Retention.DELETE,
        db_default=Retention.DELETE,
    )
    # Addresses (one a line) that get a copy of every SMS it receives, set by its
    # administrators (a shared mailbox): notify/copies.py, besides SMSDESK_EMAIL_COPIES_TO.
    copy_addresses = models.TextField(
        _("copies of received SMS to"), blank=True, default="", db_default=""
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. Accounts are given out by an administrator: no self sign-up."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        OPERATOR = "operator", _("Operator")
        READ_ONLY = "read_only", _("Read only")
        PLATFORM = "platform", _("Platform administrator")

    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.OPERATOR)
    # None only for a platform administrator (the provider), who belongs to no organisation.
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    # "Mon compte": a small notice on any page when an SMS arrives, and a sound with it
    notify_inbound = models.BooleanField(_("show a notice when an SMS arrives"), default=True)
    notify_sound = models.BooleanField(_("with a sound"), default=False)
    # "Mon compte": put under the text of each New SMS and reply they write (they see it and
    # may change it before sending: the text stored is the text sent)
    signature = models.CharField(
        _("signature"), max_length=100, blank=True, default="", db_default=""
    )
    # "Mon compte": kept per user, so that another browser shows the same ("": the default,
    # French and SMSDESK_TIME_ZONE). A database default, so that the old version's inserts
    # still work during an upgrade.
    language = models.CharField(_("language"), max_length=8, blank=True, default="", db_default="")
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, default="", db_default=""
    )

    class EmailCopies(models.TextChoices):
        """Which received SMS the user gets a copy of by email (Mon compte)."""

        ALL = "all", _("every SMS received")
        MINE = "mine", _("only in conversations I took part in")
        NONE = "none", _("none")

    # "Mon compte": copies of received SMS by email ("none" until the user asks)
    email_copies = models.CharField(
        _("copies of received SMS by email"),
        max_length=8,
        choices=EmailCopies,
        default=EmailCopies.NONE,
        db_default=EmailCopies.NONE,
    )
    # "Mon compte": yesterday's figures by email each morning (notify/notices.daily_summaries)
    email_summary = models.BooleanField(
        _("daily summary by email"), default=False, db_default=False
    )
    # An administrator asks this user for a second factor at each login (accounts/twofactor.py)
    require_2fa = models.BooleanField(
        _("two-factor login required"), default=False, db_default=False
    )

    # SMS parts this user's sends may take per local day and per month, set by an
    # administrator of the organisation (messaging/quotas.py counts them with the
    # organisation's); 0: no limit of their own
    quota_day = models.PositiveIntegerField(_("SMS parts per day"), default=0, db_default=0)
    quota_month = models.PositiveIntegerField(_("SMS parts per month"), default=0, db_default=0)

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role="platform", organisation__isnull=True)
                    | (~models.Q(role="platform") & models.Q(organisation__isnull=False))
                ),
                name="user_platform_has_no_organisation",
            )
        ]

    @property
    def is_admin(self) -> bool:
        """An organisation's administrator (a platform administrator administers the
        platform, not an organisation's data)."""
        return self.role == self.Role.ADMIN or (self.is_superuser and not self.is_platform)

    @property
    def is_platform(self) -> bool:
        return self.role == self.Role.PLATFORM

    @property
    def text_box_start(self) -> str:
        """What the text box of a New SMS or a reply starts with: a line to write on, then
        the user's signature ("" without one)."""
        return f"\n{self.signature}" if self.signature else ""

    @property
    def is_read_only(self) -> bool:
        return self.role == self.Role.READ_ONLY

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.organisation_id is None and self.role != self.Role.PLATFORM:
            from smsdesk.core.tenancy import sole_organisation

            self.organisation = sole_organisation()
        super().save(*args, **kwargs)


class Scope(models.TextChoices):
    """What a token may do (README "REST API": the table of endpoints per scope)."""

    MESSAGES_SEND = "messages:send", _("Send messages")
    MESSAGES_READ = "messages:read", _("Read messages, campaigns, calls and the STOP list")
    CONTACTS_READ = "contacts:read", _("Read contacts and groups")
    CONTACTS_WRITE = "contacts:write", _("Change contacts and groups")
    OPTOUTS_WRITE = "optouts:write", _("Change the STOP list")
    WEBHOOKS_ADMIN = "webhooks:admin", _("Manage webhooks")
    AUDIT_READ = "audit:read", _("Read the audit log")


# What each role may give its tokens (and what a token keeps of its scopes when its user's
# role changes: the role's scopes and the token's, both).
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "operator": (
        Scope.MESSAGES_SEND,
        Scope.MESSAGES_READ,
        Scope.CONTACTS_READ,
        Scope.CONTACTS_WRITE,
    ),
    "admin": tuple(Scope.values),
    # sees, sends nothing, changes nothing
    "read_only": (Scope.MESSAGES_READ, Scope.CONTACTS_READ),
}


def role_scopes(user: Any) -> tuple[str, ...]:
    """The scopes `user`'s role may give its tokens."""
    if user.is_admin:
        return ROLE_SCOPES["admin"]
    return ROLE_SCOPES["read_only" if user.is_read_only else "operator"]


class ApiToken(OrgOwned):
    """A bearer token for the REST API. Only its SHA-256 is stored; it is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12)  # shown in lists so a user can tell tokens apart
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last address"), null=True, blank=True)
    # None: every scope of the user's role (the tokens made before scopes existed)
    scopes = models.JSONField(_("scopes"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    # The rate limit (accounts/ratelimit.py): requests counted in the second `rate_second`.
    rate_second = models.BigIntegerField(null=True, blank=True)
    rate_count = models.IntegerField(null=True, blank=True)
    # Recipients its sends may reach per local day of its organisation (0: no limit), and
    # those counted on the day `recipients_date` (messaging/quotas.py: one conditional UPDATE
    # in the send's transaction).
    recipients_day = models.PositiveIntegerField(_("recipients per day"), default=0, db_default=0)
    recipients_date = models.CharField(max_length=10, blank=True, default="", db_default="")
    recipients_used = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "id"], name="token_org")]

    def granted(self) -> frozenset[str]:
        """The scopes this token has now: its own, within its user's role."""
        role = role_scopes(self.user)
        own = role if self.scopes is None else self.scopes
        return frozenset(s for s in own if s in role)

    def recipients_today(self) -> int:
        """Recipients counted today (the organisation's local day) against `recipients_day`
        (messaging/quotas.py counts them)."""
        import zoneinfo

        from django.conf import settings
        from django.utils import timezone

        name = self.organisation.time_zone or settings.TIME_ZONE
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        today = timezone.now().astimezone(zone).date().isoformat()
        return self.recipients_used if self.recipients_date == today else 0

    @staticmethod
    def digest_of(raw: str) -> str:
        # Tokens are 256 random bits: a plain hash is enough, no slow KDF is needed.
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class FailedTokenAttempt(models.Model):
    """Bearer tokens refused from one address in one minute (logged and throttled)."""

    address = models.CharField(max_length=45)
    minute = models.BigIntegerField()
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "minute"], name="token_failure_once")
        ]


class PasswordResetRequest(models.Model):
    """A request for a reset link, counted per address asked and per client address (the
    rate limit of accounts/reset.py), whether or not the address is a user's."""

    email = models.CharField(max_length=254, db_index=True)
    ip = models.CharField(max_length=45, db_index=True)
    at = models.DateTimeField(db_index=True)


class LoginSession(AbstractBaseSession):
    """A browser's session (SESSION_ENGINE `smsdesk.accounts.sessions`), with the id of the
    user logged in on it, so that a user's sessions are found by an index, not by decoding
    every session (`services.end_sessions`)."""

    user_id = models.BigIntegerField(null=True, db_index=True)

    @classmethod
    def get_session_store_class(cls) -> type:
        from smsdesk.accounts.sessions import SessionStore

        return SessionStore


class LineAssignment(models.Model):
    """Which organisation a line (a gateway of SMSDESK_GATEWAYS, by name) belongs to, as the
    platform administrator set it. Platform-level: lines are the provider's. A line named with
    `org=slug` in SMSDESK_GATEWAYS needs no row; a line with neither belongs to the only
    organisation of a single-customer installation."""

    line = models.CharField(_("line"), max_length=50)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="line_assignments"
    )
    assigned_at = models.DateTimeField(auto_now=True)
    # A line shared by several organisations (several rows of one line, the first assigned
    # first): this organisation's sender names or numbers on it, separated by commas (the
    # first sends); "" for a line of one organisation (messaging/lines.py).
    sender = models.CharField(_("sender"), max_length=100, blank=True, default="", db_default="")

    class Meta:
        ordering = ["line", "id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "organisation"], name="line_assigned_once")
        ]


class OrganisationVisit(OrgOwned):
    """A platform administrator inside an organisation's space, to help (issue 16): recorded
    when they enter, closed when they leave, and shown to that organisation's administrators
    (a banner while it lasts, the list on the Users page). A visit looks and changes nothing
    (accounts.middleware refuses every change during one)."""

    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(_("by"), max_length=150)  # kept if the account goes
    started_at = models.DateTimeField(_("entered"))
    ended_at = models.DateTimeField(_("left"), null=True, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organisation", "started_at", "id"], name="visit_recent")]
