from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactField(models.Model):
    """A custom field an administrator adds to every contact (city, customer number...).

    Values live in `Contact.fields` under `key`, so that personalised texts can read them
    later; CSV columns whose header is the key or the label fill them on import."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class Contact(models.Model):
    name = models.CharField(_("contact name"), max_length=200)
    number = models.CharField(_("number"), max_length=32, unique=True)  # E.164
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    # custom field values by ContactField.key (strings); only defined keys are kept
    fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["name", "id"], name="contact_name"),
            models.Index(fields=["first_name", "name", "id"], name="contact_first_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.name}" if self.first_name else self.name


class Group(models.Model):
    name = models.CharField(_("group name"), max_length=200, unique=True)
    contacts = models.ManyToManyField(Contact, related_name="groups", blank=True)
    # A dynamic group: conditions on the contacts' fields (directory/rules.py), its members
    # computed when read; None for a group whose members were chosen one by one.
    rule = models.JSONField(_("rule"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def dynamic(self) -> bool:
        return self.rule is not None
