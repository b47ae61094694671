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


class SimulatedEvent(models.Model):
    """An SMS or call injected with `smsdesk simulate`, waiting for the worker that owns the
    simulator gateway to pick it up: the database is the simulated air between processes."""

    class Kind(models.TextChoices):
        INBOUND_SMS = "sms"
        CALL = "call"

    gateway = models.CharField(max_length=50)
    kind = models.CharField(max_length=4, choices=Kind)
    sender = models.CharField(max_length=32)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
