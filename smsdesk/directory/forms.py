from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from smsdesk.core import tenancy
from smsdesk.core.forms import RowsChoiceField
from smsdesk.directory.models import ContactField, Group


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Contact name"), max_length=400)
    first_name = forms.CharField(label=_("First name"), max_length=200, required=False)
    number = forms.CharField(
        label=_("Number"),
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "06 12 34 56 78", "inputmode": "tel"}),
    )
    groups = RowsChoiceField(
        label=_("Groups"),
        queryset=Group.objects.across_orgs().none(),  # the organisation's: __init__
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, custom: list[ContactField] = (), org=None, **kwargs) -> None:  # type: ignore[no-untyped-def, assignment]
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = Group.objects.for_org(tenancy.resolve(org))  # type: ignore[attr-defined]
        self.custom = list(custom)
        for f in self.custom:
            self.fields[f"field_{f.key}"] = forms.CharField(
                label=f.label, max_length=400, required=False
            )

    def field_values(self) -> dict[str, str]:
        return {f.key: self.cleaned_data.get(f"field_{f.key}", "") for f in self.custom}


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Group name"), max_length=400)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    group = forms.CharField(
        label=_("Also put these contacts in the group"),
        max_length=200,
        required=False,
        help_text=_("Optional: an existing group's name, or a new one."),
    )


class ContactFieldForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=60)
    key = forms.SlugField(
        label=_("Key"),
        max_length=40,
        help_text=_("Letters, digits and _ only, e.g. city: used in CSV headers and the API."),
    )
