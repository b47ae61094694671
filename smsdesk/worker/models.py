from __future__ import annotations

from django.db import models


class WorkerProcess(models.Model):
    """A running worker, so that another can tell whether a `sending` message's owner is
    alive (then leave it) or dead (then mark it `unknown`)."""

    id = models.CharField(max_length=40, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    gateways = models.JSONField(default=list)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()


class GatewayStoreItem(models.Model):
    """Something a gateway keeps across restarts (`gateways.base.GatewayStore`): the
    simulator's pending delivery reports, the SMS and calls `smsdesk simulate` injects, its
    outages. The database is the simulated network's memory, shared between processes."""

    gateway = models.CharField(max_length=50)
    kind = models.CharField(max_length=20)
    due = models.FloatField(default=0.0)  # seconds since the epoch
    payload = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["gateway", "kind", "due"], name="gwstore_due")]
