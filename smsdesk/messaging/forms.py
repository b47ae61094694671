from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from smsdesk.core import bounds
from smsdesk.directory.services import Targets


class NewSmsForm(forms.Form):
    text = forms.CharField(
        label=_("Text of the SMS"),
        widget=forms.Textarea(attrs={"rows": 5}),
        # The service counts SMS parts; this only bounds what a browser may post.
        max_length=5000,
        required=False,
    )
    smart_encoding = forms.BooleanField(
        label=_("Replace typographic characters (’ « » – …) by their GSM look-alikes"),
        help_text=_(
            "They need Unicode, which shortens each SMS to 70 characters: replaced, the SMS "
            "costs less. What is sent is shown under the text."
        ),
        required=False,
        initial=True,
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
        help_text=_(
            "One number per line (or separated by commas); “+” adds a field. Leave empty to "
            "send to contacts and groups only."
        ),
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

    tag = forms.CharField(
        label=_("Tag"),
        max_length=50,
        required=False,
        help_text=_(
            "A word to find this campaign again and count such sends (“newsletter”, "
            "“reminder”); earlier tags are suggested."
        ),
    )

    def number_list(self) -> list[str]:
        """Every target number field (the "+" adds fields), each possibly a pasted list; a
        number typed in a field but never confirmed is sent too."""
        fields = self.data.getlist("numbers") if hasattr(self.data, "getlist") else []
        raw = "\n".join(str(f)[:2_000_000] for f in fields[:1000])
        return [n for n in raw.replace(",", "\n").replace(";", "\n").splitlines() if n.strip()]

    def targets(self) -> Targets:
        """Typed numbers, and the contacts and groups picked with the type-ahead."""
        return Targets(
            numbers=self.number_list(),
            contacts=_ids(self.data, "contacts"),
            groups=_ids(self.data, "groups"),
        )


def _ids(data, name: str) -> list[int]:  # type: ignore[no-untyped-def]
    values = data.getlist(name) if hasattr(data, "getlist") else []
    return bounds.ids(values, limit=10_000)


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    smart_encoding = forms.BooleanField(
        label=_("Typographic characters as GSM look-alikes (’ → ')"),
        required=False,
        initial=True,
    )
