from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from smsdesk.optout.services import MAX_REASON


class AddNumberForm(forms.Form):
    number = forms.CharField(label=_("Number"), max_length=64)
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=MAX_REASON,
        required=False,
        help_text=_("For example: asked by phone on 12/03."),
    )
    never = forms.BooleanField(
        label=_("Never text this number"),
        required=False,
        help_text=_(
            "An administrator's decision: a START sent from this number does not take it off "
            "the list; only an administrator does. Unticked, the number is on the list as if it "
            "had sent STOP."
        ),
    )


class ConfirmationForm(forms.Form):
    enabled = forms.BooleanField(label=_("Send a confirmation after a first STOP"), required=False)
    text = forms.CharField(
        label=_("Confirmation text"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # text, so that the service says what is wrong with any value (one rule for every entry)
    delay_hours = forms.CharField(
        label=_("No second confirmation within (hours)"),
        max_length=10,
        help_text=_("A number that sends STOP again within this delay gets no second SMS."),
    )


class RemoveNumberForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this number removed?"),
        max_length=MAX_REASON,
        help_text=_("Kept in the history of the number, with your name."),
    )


class ImportForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=MAX_REASON,
        required=False,
        help_text=_("Kept in the history of each number, for example: list of the old system."),
    )
