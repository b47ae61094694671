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


class RemoveNumberForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this number removed?"),
        max_length=MAX_REASON,
        help_text=_("Kept in the history of the number, with your name."),
    )
