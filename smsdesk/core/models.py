from __future__ import annotations

from django.db import models


class FormKey(models.Model):
    """A one-time key a form carried when it was acted on (see core/once.py)."""

    key = models.CharField(max_length=32, unique=True)
    used_at = models.DateTimeField(db_index=True)
