"""Why `sms.numbers.normalise` refused a number, in the user's language: one table for every
app that reads numbers a person typed (New SMS, the directory, the STOP list)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

NUMBER_REASONS = {
    "empty": gettext_lazy("empty"),
    "too short": gettext_lazy("too short"),
    "too long": gettext_lazy("too long"),
    "unknown country code": gettext_lazy("unknown country code"),
    "wrong length": gettext_lazy("wrong length"),
    "not a phone number": gettext_lazy("not a phone number"),
    "not a valid number": gettext_lazy("not a valid number"),
    "contains letters": gettext_lazy("contains letters"),
    "control character": gettext_lazy("contains an invisible control character"),
}


def explain(reason: str) -> str:
    """The reason in the user's language (as given when it is not in the table)."""
    return str(NUMBER_REASONS.get(reason, reason))
