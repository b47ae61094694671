"""What the mail notifications keep between the moment something happens and the mail.

`PendingCopy`: a received SMS waiting to be mailed to one address, written in the transaction
that stores the SMS (copies.on_changes); the worker turns the copies of one address into one
mail once the first has waited `SMSDESK_EMAIL_COPY_GROUP_SECONDS` (many SMS at once: one mail
listing them). `Notice`: a notice already mailed (a campaign finished, a gateway down since a
given moment), so that each is mailed once, by one worker.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from smsdesk.core.tenancy import OrgOwned


class PendingCopy(models.Model):
    address = models.CharField(max_length=320)
    language = models.CharField(max_length=8, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # No database constraint (the message table is partitioned: messaging/partitions.py).
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["address", "id"], name="copy_address")]


class Notice(models.Model):
    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="notice_once")]


class MailReply(OrgOwned):
    """A mail answering a copy of an SMS that was sent on as an SMS (notify/replies.py), kept
    by its Message-ID: the same mail delivered twice by the mail server sends one SMS."""

    message_id = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign_id = models.BigIntegerField(null=True, blank=True)  # the send it became
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "message_id"], name="mail_reply_once")
        ]
