from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from smsdesk.core import bounds
from smsdesk.directory.services import Targets
from smsdesk.sms.recurrence import WEEKDAYS


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
    line = forms.CharField(
        label=_("From (line)"),
        required=False,
        max_length=50,
        help_text=_(
            "Automatic: a correspondent who wrote to you gets the SMS from the line they "
            "wrote to; the others from the first line that can send."
        ),
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

    flash = forms.BooleanField(
        label=_("Flash SMS"),
        required=False,
        help_text=_(
            "Shown at once on the phone's screen and not kept in its messages (an alert). "
            "Only some lines can send it: the others refuse it before anything is sent."
        ),
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

    # A recurring send (messaging/recurring.py validates; these only carry what was typed).
    repeat = forms.BooleanField(label=_("Repeat this send"), required=False)
    every = forms.ChoiceField(
        label=_("Every"),
        required=False,
        choices=[
            ("day", pgettext_lazy("repeat every", "day")),
            ("week", pgettext_lazy("repeat every", "week")),
            ("month", pgettext_lazy("repeat every", "month")),
        ],
        initial="week",
    )
    on = forms.MultipleChoiceField(
        label=_("On"), required=False, choices=[(d, d) for d in WEEKDAYS]
    )
    day = forms.CharField(label=_("Day of the month"), required=False, max_length=10)
    repeat_at = forms.CharField(label=_("At"), required=False, max_length=10, initial="09:00")
    until = forms.CharField(label=_("Until"), required=False, max_length=20)
    times = forms.CharField(label=_("Number of times"), required=False, max_length=10)

    def repeat_rule(self) -> dict:
        return repeat_rule(self)

    def number_list(self) -> list[str]:
        return number_list(self)

    def targets(self) -> Targets:
        return targets_of(self)


def number_list(form: forms.Form) -> list[str]:
    """Every target number field (the "+" adds fields), each possibly a pasted list; a
    number typed in a field but never confirmed is sent too."""
    fields = form.data.getlist("numbers") if hasattr(form.data, "getlist") else []
    raw = "\n".join(str(f)[:2_000_000] for f in fields[:1000])
    return [n for n in raw.replace(",", "\n").replace(";", "\n").splitlines() if n.strip()]


def targets_of(form: forms.Form) -> Targets:
    """Typed numbers, and the contacts and groups picked with the type-ahead."""
    return Targets(
        numbers=number_list(form),
        contacts=_ids(form.data, "contacts"),
        groups=_ids(form.data, "groups"),
    )


def repeat_rule(form: forms.Form) -> dict:
    """What recurring.check_repeat takes, from a form with the repeat fields."""
    data = form.cleaned_data
    return {
        "every": data.get("every") or "",
        "on": data.get("on") or None,
        "day": data.get("day") or None,
        "at": data.get("repeat_at") or "",
        "until": data.get("until") or None,
        "times": data.get("times") or None,
    }


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


REPEAT_FIELDS = {
    "every": "every",
    "on": "on",
    "day": "day",
    "at": "repeat_at",
    "until": "until",
    "times": "times",
    "text": "text",
    "tag": "tag",
    "to": "text",
}


class RecurrenceForm(forms.Form):
    """Edit a recurring send: its text and rule (the future occurrences)."""

    text = forms.CharField(
        label=_("Text of the SMS"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )
    tag = forms.CharField(label=_("Tag"), max_length=50, required=False)
    numbers = NewSmsForm.base_fields["numbers"]
    every = NewSmsForm.base_fields["every"]
    on = NewSmsForm.base_fields["on"]
    day = NewSmsForm.base_fields["day"]
    repeat_at = NewSmsForm.base_fields["repeat_at"]
    until = NewSmsForm.base_fields["until"]
    times = NewSmsForm.base_fields["times"]

    def repeat_rule(self) -> dict:
        return repeat_rule(self)

    def targets(self) -> Targets:
        return targets_of(self)


MATCH_CHOICES = [
    ("whole", _("the whole message is the keyword")),
    ("word", _("the message starts with the keyword")),
    ("contains", _("the keyword is anywhere in the message")),
]


class AutoReplyForm(forms.Form):
    keyword = forms.CharField(label=_("Keyword"), max_length=200)
    match = forms.ChoiceField(label=_("When"), choices=MATCH_CHOICES, initial="whole")
    text = forms.CharField(
        label=_("Answer"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    delay_minutes = forms.CharField(
        label=_("At most one answer per number every (minutes)"), initial="60", max_length=10
    )
    gateway = forms.CharField(label=_("Line"), required=False, max_length=64)
    group = forms.CharField(label=_("Add the sender to the group"), required=False, max_length=200)
    tag = forms.CharField(label=_("Tag the discussion"), required=False, max_length=200)


class AutoReplyEditForm(AutoReplyForm):
    active = forms.BooleanField(label=_("Active (answers)"), required=False)


def repeat_context(form: forms.Form) -> dict:
    """What messaging/_repeat_fields.html needs besides the form."""
    from django.utils.dates import WEEKDAYS as DAY_NAMES

    return {
        "weekdays": [(code, DAY_NAMES[i]) for i, code in enumerate(WEEKDAYS)],
        "month_days": [(str(d), str(d)) for d in range(1, 32)]
        + [
            (f"last-{code}", _("the last %(day)s") % {"day": DAY_NAMES[i]})
            for i, code in enumerate(WEEKDAYS)
        ],
        "repeat_errors": [
            form[name] for name in ("every", "on", "day", "repeat_at", "until", "times")
        ],
    }
