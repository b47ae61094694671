from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smsdesk.core.tenancy import OrgManager, OrgOwned, OrgQuerySet


class Source(models.TextChoices):
    """How a number came on (or off) the STOP list."""

    SMS = "sms", _("SMS")
    MANUAL = "manual", _("By hand")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    CLI = "cli", _("Command line")


class OptOut(OrgOwned):
    """A number that asked never to be texted again (SMS STOP). Removing a number deletes its
    row (it can be texted again); what happened stays in `OptOutEvent`."""

    Source = Source

    number = models.CharField(_("number"), max_length=32)  # E.164, once per organisation
    source = models.CharField(_("source"), max_length=10, choices=Source)
    # The SMS that opted out, or the reason given by whoever added the number by hand.
    keyword = models.CharField(_("message"), max_length=160, blank=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # "Never text": an administrator's decision (a complaint, a request by letter, a number
    # that is not a person), not the correspondent's STOP: a START from the number does not
    # take it off; only an administrator does.
    never = models.BooleanField(_("never text"), default=False, db_default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "created_at", "id"], name="optout_recent"),
            models.Index(fields=["organisation", "id"], name="optout_org_id"),  # the API's pages
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="optout_number")
        ]


class StopSettings(OrgOwned):
    """The confirmation sent after a first STOP, as an organisation's administrators set it
    on the SMS STOP page (one row per organisation). Until they do, SMSDESK_STOP_CONFIRMATION,
    _TEXT and _DELAY_HOURS apply (`services.confirmation`)."""

    enabled = models.BooleanField(_("send a confirmation"))
    text = models.CharField(_("confirmation text"), max_length=500, blank=True)
    delay_hours = models.PositiveIntegerField(_("delay (hours)"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation"], name="stop_settings_once")]


class AppendOnly(Exception):
    """The STOP history is never changed nor deleted."""


class EventQuerySet(OrgQuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnly("the STOP history cannot be changed")

    def delete(self):  # type: ignore[no-untyped-def]
        raise AppendOnly("the STOP history cannot be deleted")


class OptOutEvent(OrgOwned):
    """One change of the STOP list, kept for good: who added or removed which number, how,
    when and why. Rows are only ever inserted (save() of an existing row, update() and
    delete() raise AppendOnly); no page, API or command offers to edit them."""

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")

    number = models.CharField(_("number"), max_length=32)  # indexed by optout_event_number
    action = models.CharField(_("action"), max_length=8, choices=Action)
    source = models.CharField(_("how"), max_length=10, choices=Source)
    at = models.DateTimeField(_("date"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The user's name at the time: the history still says who if the account goes.
    by_name = models.CharField(_("by"), max_length=150, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    text = models.CharField(_("message"), max_length=160, blank=True)  # the SMS, if any

    objects = OrgManager.from_queryset(EventQuerySet)()  # type: ignore[misc, django-manager-missing]

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "at", "id"], name="optout_event_recent"),
            models.Index(fields=["organisation", "number", "at", "id"], name="optout_event_number"),
        ]

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise AppendOnly("the STOP history cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnly("the STOP history cannot be deleted")
