"""Why `sms.numbers.normalise` refused a number, in the user's language: one table for every
app that reads numbers a person typed (New SMS, the directory, the STOP list)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smsdesk.core import text
from smsdesk.sms import errors, numbers

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


def parse_typed(raw: object) -> str:
    """The one parser of a number a person typed (New SMS, the directory, the STOP list, an
    import): E.164 in SMSDESK_DEFAULT_REGION's way, or `sms.errors.InvalidNumber` saying why
    (`invalid_number_message` words it). A control character is refused, not stripped."""
    value = str(raw)
    if text.has_controls(value):
        raise errors.InvalidNumber(value, "control character")
    return numbers.normalise(value, default_region=settings.SMSDESK_DEFAULT_REGION)


def invalid_number_message(raw: object, reason: str) -> str:
    """The one wording of "invalid number", whoever refuses it."""
    shown = text.from_network(str(raw)[:64], multiline=False)  # quoted back: no controls
    return _("“%(number)s” is not a valid number (%(reason)s).") % {
        "number": shown,
        "reason": explain(reason),
    }
