from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OptOut(models.Model):
    """A number that asked never to be texted again (SMS STOP)."""

    class Source(models.TextChoices):
        SMS = "sms", _("STOP SMS")
        MANUAL = "manual", _("Added by a user")
        API = "api", _("API")

    number = models.CharField(_("number"), max_length=32, unique=True)  # E.164
    source = models.CharField(_("source"), max_length=10, choices=Source)
    keyword = models.CharField(_("message"), max_length=160, blank=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-created_at"]
