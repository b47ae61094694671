from __future__ import annotations

from django.db import models


class FormKey(models.Model):
    """A one-time key a form carried when it was acted on (see core/once.py)."""

    key = models.CharField(max_length=32, unique=True)
    used_at = models.DateTimeField(db_index=True)


class IdempotencyKey(models.Model):
    """An API POST sent with an `Idempotency-Key` header, and its answer (api/idempotency.py):
    the same key from the same token within 24 hours answers this again."""

    owner = models.CharField(max_length=64)  # SHA-256 of the Authorization header
    key = models.CharField(max_length=255)
    request_digest = models.CharField(max_length=64)  # method, path, query and body
    created_at = models.DateTimeField(db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_once")
        ]
