from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class NewSmsForm(forms.Form):
    text = forms.CharField(
        label=_("Text of the SMS"),
        widget=forms.Textarea(attrs={"rows": 5}),
        # The service counts SMS parts; this only bounds what a browser may post.
        max_length=5000,
        required=False,
    )
    send_at = forms.DateTimeField(
        label=_("Sending date of the SMS"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty to send now."),
    )
    numbers = forms.CharField(
        label=_("Target numbers"),
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "06 12 34 56 78\n+33 6 98 76 54 32"}
        ),
        help_text=_("One number per line (or separated by commas)."),
        required=False,
        max_length=2_000_000,
    )

    commercial = forms.BooleanField(
        label=_("Commercial SMS"),
        required=False,
        help_text=_(
            "Advertising or promotion: the opt-out mention is added to the text, and it goes "
            "out only in the allowed hours (not on Sundays nor public holidays)."
        ),
    )

    def number_list(self) -> list[str]:
        raw = self.cleaned_data.get("numbers", "")
        return [n for n in raw.replace(",", "\n").replace(";", "\n").splitlines() if n.strip()]


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
