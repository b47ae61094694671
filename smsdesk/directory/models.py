from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from smsdesk.core.tenancy import OrgOwned


class ContactField(OrgOwned):
    """A custom field an administrator adds to every contact (city, customer number...).

    Values live in `Contact.fields` under `key`, so that personalised texts can read them
    later; CSV columns whose header is the key or the label fill them on import."""

    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=60)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="contact_field_key"),
            models.UniqueConstraint(fields=["organisation", "label"], name="contact_field_label"),
        ]

    def __str__(self) -> str:
        return self.label


class Contact(OrgOwned):
    name = models.CharField(_("contact name"), max_length=200)
    number = models.CharField(_("number"), max_length=32)  # E.164, one per organisation
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    # custom field values by ContactField.key (strings); only defined keys are kept
    fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["organisation", "name", "id"], name="contact_name"),
            models.Index(
                fields=["organisation", "first_name", "name", "id"], name="contact_first_name"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="contact_number")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.name}" if self.first_name else self.name


class Group(OrgOwned):
    name = models.CharField(_("group name"), max_length=200)
    contacts = models.ManyToManyField(Contact, related_name="groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="group_name")]

    def __str__(self) -> str:
        return self.name
