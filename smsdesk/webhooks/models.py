"""Webhook endpoints, the durable outbox of their deliveries, and every attempt.

An `Event` is written in the same transaction as the change it tells of (a message's new
status, an SMS received, a number on or off the STOP list, a call): a crash either keeps both
or neither. Each endpoint subscribed to its type gets a `Delivery` row in that same
transaction; the worker sends them (webhooks/delivery.py) and keeps each try as an `Attempt`.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smsdesk.core.tenancy import OrgOwned


class EventType(models.TextChoices):
    MESSAGE_RECEIVED = "message.received", _("An SMS was received")
    MESSAGE_STATUS = "message.status", _("A message changed status")
    OPTOUT_ADDED = "optout.added", _("A number joined the STOP list")
    OPTOUT_REMOVED = "optout.removed", _("A number left the STOP list")
    CALL_RECEIVED = "call.received", _("A call was received")
    CAMPAIGN_FINISHED = "campaign.finished", _("A campaign finished")


class Endpoint(OrgOwned):
    """An address of the organisation's own systems that is told of events (an
    administrator registers it; its secret signs every delivery and is shown once)."""

    url = models.CharField(_("address"), max_length=2000)
    events = models.JSONField(_("events"), default=list)  # EventType values
    secret = models.CharField(max_length=80)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # set at the first failure of a row of failures, cleared by a success: after 24 h of
    # failures the endpoint is disabled
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "created_at", "id"], name="webhook_org")]

    @staticmethod
    def new_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)


class Event(OrgOwned):
    """Something that happened, as the API shows it, with an id the receiver may use to
    recognise a delivery it already had (`data` is what the API would answer then)."""

    type = models.CharField(max_length=32, choices=EventType)
    created_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["organisation", "id"], name="webhook_event_org")]


class Delivery(models.Model):
    """One event for one endpoint: waiting, delivered, or given up after 24 h."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Given up")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Deliveries of one key (a conversation's number) go out in order: the next one waits
    # until the one before it is delivered or given up.
    order_key = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["endpoint", "order_key", "id"],
                name="webhook_pending",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["endpoint", "id"], name="webhook_recent"),
        ]


class Attempt(models.Model):
    """One try of a delivery: when, how long, the answer's status code or why none."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    by = models.CharField(max_length=150, blank=True)  # who asked to "send again"

    class Meta:
        ordering = ["-at", "-id"]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
