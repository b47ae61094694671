"""Phone numbers, wrapping `phonenumbers`: everything is stored in E.164 (+33612345678)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

from smsdesk.sms.errors import InvalidNumber

MAX_INPUT = 64  # longer input is not a phone number: refuse before parsing

_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.INVALID_LENGTH: "wrong length",
}


def normalise(raw: str, *, default_region: str = "FR") -> str:
    """E.164 form of `raw` ("06 12 34 56 78", "0033 6…", "+33 6…"), or InvalidNumber."""
    value = raw.strip()
    if not value:
        raise InvalidNumber(raw, "empty")
    if len(value) > MAX_INPUT:
        raise InvalidNumber(raw[:MAX_INPUT], "too long")
    try:
        number = phonenumbers.parse(value, default_region)
    except NumberParseException:
        raise InvalidNumber(raw, "not a phone number") from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _POSSIBLE_REASONS:
        raise InvalidNumber(raw, _POSSIBLE_REASONS[possible])
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(raw, "not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_valid(raw: str, *, default_region: str = "FR") -> bool:
    try:
        normalise(raw, default_region=default_region)
    except InvalidNumber:
        return False
    return True


def format_for_display(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parse_many(text: str, *, default_region: str = "FR") -> tuple[list[str], list[InvalidNumber]]:
    """Numbers one per line or separated by , or ; (not by spaces: "06 12 34 56 78" is one).
    Returns the distinct valid ones in order, and an error for each invalid one."""
    valid: dict[str, None] = {}
    invalid: list[InvalidNumber] = []
    for item in text.replace(";", "\n").replace(",", "\n").splitlines():
        if not item.strip():
            continue
        try:
            valid[normalise(item, default_region=default_region)] = None
        except InvalidNumber as e:
            invalid.append(e)
    return list(valid), invalid
