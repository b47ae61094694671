from __future__ import annotations

from django.db import models


class WorkerProcess(models.Model):
    """A running worker, so that another can tell whether a `sending` message's owner is
    alive (then leave it) or dead (then mark it `unknown`)."""

    id = models.CharField(max_length=40, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    gateways = models.JSONField(default=list)  # the lines it drives now (holds the lease of)
    # The lines it may drive (SMSDESK_WORKER_LINES), and its smsdesk version. Null / empty:
    # written by a worker older than the leases.
    eligible = models.JSONField(null=True, blank=True)
    version = models.CharField(max_length=40, db_default="", default="")
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()


class LineLease(models.Model):
    """Who drives a line (a gateway of SMSDESK_GATEWAYS): one worker at a time, until
    `expires_at` (the database's clock), renewed with its heartbeat (`worker/leases.py`, the
    only code that writes it). A worker that dies releases nothing: its lease runs out and
    another worker allowed to drive the line takes it."""

    line = models.CharField(max_length=50, primary_key=True)
    worker_id = models.CharField(max_length=40, blank=True, default="")  # "": nobody yet
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.PositiveIntegerField(default=0)
    taken_at = models.DateTimeField()
    expires_at = models.DateTimeField()


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


class CallbackReceipt(models.Model):
    """A provider's callback (a received SMS, a delivery state), once: its line and its key
    (the provider's id of the SMS or the report, with its kind). Inserted in the transaction
    that records what it says (`worker/callbacks.py`), so a replay (the provider trying
    again, an attacker resending a captured request) finds the row and changes nothing.
    Forgotten after SMSDESK_REPORT_TIMEOUT hours by the worker's heartbeat."""

    gateway = models.CharField(max_length=50)
    key = models.CharField(max_length=200)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "key"], name="callback_once"),
        ]
        indexes = [models.Index(fields=["received_at"], name="callback_age")]
