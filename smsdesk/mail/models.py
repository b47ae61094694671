"""The outbox of outgoing mail.

A mail is a row written in the same transaction as what causes it (a reset asked for, an SMS
received, a campaign finished): a rollback takes it back, a commit keeps it, whatever happens
to the mail server or the worker afterwards. The worker sends the rows (mail/delivery.py),
tries again with back-off while the server is away, and keeps each mail's state: nothing is
lost across a restart, and no page or SMS ever waits for a mail server.

The mail is stored as it will be sent (subject and bodies rendered in the recipient's
language when it was queued), so that a template changed between queueing and sending, or a
user who changed language meanwhile, cannot change what a mail said.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutgoingMail(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Given up")

    kind = models.CharField(max_length=32)  # mail.services.Kind: what it is about
    to = models.CharField(max_length=320)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict)  # our own (List-Unsubscribe, ...)
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="mail_pending",
                condition=models.Q(state="pending"),
            ),
        ]


class MailStop(models.Model):
    """An address that asked not to get one kind of mail any more (the one-click link of a
    mail, RFC 8058): no mail of that kind is queued for it (services.queue)."""

    address = models.CharField(max_length=320)
    kind = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["address", "kind"], name="mail_stop_once")]
