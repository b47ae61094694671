"""The audit log (Journal): who did what, when, from where, with what before and after.

Append-only, and not by convention: triggers in the database (PostgreSQL and SQLite, created
by migration 0001) refuse every UPDATE and every DELETE of a row, whoever sends it (the ORM,
raw SQL, `smsdesk dbshell`). The one way to remove entries is the retention purge
(audit.services.purge), which opens the lock for its own transaction through the
`audit_unlock` table: a row there, visible only inside that transaction, lets the DELETE
through. Whoever owns the database can drop the triggers: the protection is against the
application and its users, not against the database's administrator.

The actor is kept by id and by name as it was (no foreign key: a deleted user's entries must
stay, and a cascade or SET NULL would be an UPDATE or a DELETE).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login.failed", _("Failed login")
    LOGIN_CODE_FAILED = "login.code_failed", _("Wrong two-factor code")
    SEND = "sms.send", _("Sent SMS")
    CANCEL = "sms.cancel", _("Cancelled")
    RETRY = "sms.retry", _("Sent again")
    CONTACT_CREATE = "contact.create", _("Contact created")
    CONTACT_UPDATE = "contact.update", _("Contact changed")
    CONTACT_DELETE = "contact.delete", _("Contacts deleted")
    GROUP_CREATE = "group.create", _("Group created")
    GROUP_UPDATE = "group.update", _("Group changed")
    GROUP_DELETE = "group.delete", _("Groups deleted")
    STOP_ADD = "stop.add", _("Number put on the STOP list")
    STOP_REMOVE = "stop.remove", _("Number taken off the STOP list")
    IMPORT = "contacts.import", _("Contacts imported")
    EXPORT = "export", _("Exported")
    USER_CREATE = "user.create", _("User created")
    USER_ROLE = "user.role", _("Role changed")
    USER_SUSPEND = "user.suspend", _("User suspended")
    USER_REACTIVATE = "user.reactivate", _("User reactivated")
    PASSWORD_RESET = "user.password_reset", _("Password reset")
    PASSWORD_CHANGE = "user.password_change", _("Password changed")
    TOKEN_CREATE = "token.create", _("API token created")
    TOKEN_REVOKE = "token.revoke", _("API token revoked")
    TWO_FACTOR_ON = "2fa.on", _("Two-factor login turned on")
    TWO_FACTOR_OFF = "2fa.off", _("Two-factor login turned off")
    SETTINGS = "settings", _("Settings changed")
    PURGE = "data.purge", _("Old data deleted")


class Entry(models.Model):
    class Via(models.TextChoices):
        WEB = "web", _("web")
        API = "api", _("API")
        CLI = "cli", _("command line")
        SYSTEM = "system", _("platform")

    at = models.DateTimeField(_("when"), db_index=True)
    # The organisation the act concerns (the actor's, else the target's); None: the
    # platform's own acts. An id, not a foreign key (as the actor).
    organisation_id = models.BigIntegerField(null=True, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(_("who"), max_length=150, blank=True)
    via = models.CharField(_("through"), max_length=8, choices=Via, default=Via.WEB)
    token = models.CharField(max_length=20, blank=True)  # the API token's prefix
    action = models.CharField(_("action"), max_length=32, choices=Action)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target = models.CharField(_("on"), max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.CharField(_("address"), max_length=45, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["at", "id"], name="audit_recent"),
            models.Index(fields=["organisation_id", "at", "id"], name="audit_org"),
            models.Index(fields=["action", "at", "id"], name="audit_action"),
            models.Index(fields=["actor_id", "at", "id"], name="audit_actor"),
        ]


class Unlock(models.Model):
    """A row here lets the triggers pass a DELETE of entries, within the transaction that
    wrote it (the retention purge, services.purge)."""

    class Meta:
        db_table = "audit_unlock"
