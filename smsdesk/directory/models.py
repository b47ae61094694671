from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Contact(models.Model):
    name = models.CharField(_("contact name"), max_length=200)
    number = models.CharField(_("number"), max_length=32, unique=True)  # E.164
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Group(models.Model):
    name = models.CharField(_("group name"), max_length=200, unique=True)
    contacts = models.ManyToManyField(Contact, related_name="groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
