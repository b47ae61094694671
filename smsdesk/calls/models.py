from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from smsdesk.core.tenancy import OrgOwned


class Call(OrgOwned):
    """A voice call the SIM received (logged, never answered)."""

    caller = models.CharField(_("number"), max_length=32)
    gateway = models.CharField(_("gateway"), max_length=50)
    at = models.DateTimeField(_("date"))
    # The automatic SMS answer to this call (SMSDESK_CALLS_AUTO_REPLY), if one was sent.
    # No database constraint: on PostgreSQL the message table is partitioned by month, and a
    # foreign key to it would need its whole key (messaging/partitions.py); Django's SET_NULL
    # and the month's drop clear it.
    reply = models.ForeignKey(
        "messaging.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "at", "id"], name="call_recent"),
            models.Index(fields=["organisation", "caller", "at", "id"], name="call_caller"),
            models.Index(fields=["organisation", "id"], name="call_org_id"),  # the API's pages
        ]

    @property
    def hidden(self) -> bool:
        """The caller withheld the number ("masqué")."""
        return not self.caller
