from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smsdesk.core.tenancy import OrgOwned
from smsdesk.sms.folding import search_form


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
    # the API client's own references (core/metadata.py), NULL when none
    metadata = models.JSONField(null=True, blank=True)
    # first name and name, case and accents folded, in both orders ("helene durand / durand
    # helene"): what a search compares, so that "helene" finds Hélène (sms/folding.py). Kept
    # by save() and by the bulk writers (directory/imports.py) through search_name_of().
    search_name = models.TextField(default="", editable=False)
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = search_name_of(self.name, self.first_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"name", "first_name"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        """First name and name, once: a name typed "DURAND Sophie" with the first name Sophie
        is shown as typed, not "Sophie DURAND Sophie" (directory.contact_name_of alike)."""
        if not self.first_name or self.first_name.casefold() in self.name.casefold():
            return self.name
        return f"{self.first_name} {self.name}"


class Group(OrgOwned):
    name = models.CharField(_("group name"), max_length=200)
    search_name = models.TextField(default="", editable=False)  # search_form(name)
    contacts = models.ManyToManyField(Contact, related_name="groups", blank=True)
    # A dynamic group: conditions on the contacts' fields (directory/rules.py), its members
    # computed when read; None for a group whose members were chosen one by one.
    rule = models.JSONField(_("rule"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="group_name")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = search_form(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    @property
    def dynamic(self) -> bool:
        return self.rule is not None


def search_name_of(name: str, first_name: str) -> str:
    """What `Contact.search_name` holds for this name and first name."""
    if not first_name:
        return search_form(name)
    first, last = search_form(first_name), search_form(name)
    return f"{first} {last} / {last} {first}"


class InvalidNumberReport(OrgOwned):
    """The numbers one send (its file of recipients) or one contact import refused while it
    went on with the valid ones, each with why (`InvalidNumber`): the page and the CSV of
    the invalid numbers, and the cleanup of the contacts that hold them (directory/invalid.py)."""

    class Kind(models.TextChoices):
        SEND = "send", _("send")
        IMPORT = "import", _("contact import")

    kind = models.CharField(max_length=6, choices=Kind.choices)
    label = models.CharField(max_length=200, blank=True, default="")  # the file's name
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "created_at", "id"], name="invalid_report_recent")
        ]


class InvalidNumber(OrgOwned):
    """One number a send or an import refused: as given (controls shown as U+FFFD), the form
    a stored contact number would have (`compact`: what the cleanup compares), and why
    (a `core.number_reasons.NUMBER_REASONS` key)."""

    report = models.ForeignKey(
        InvalidNumberReport, on_delete=models.CASCADE, related_name="numbers"
    )
    line = models.PositiveIntegerField(null=True, blank=True)  # in the file
    number = models.CharField(max_length=64)
    compact = models.CharField(max_length=64)
    reason = models.CharField(max_length=40)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "report", "id"], name="invalid_number_report")
        ]
