"""Phone numbers, wrapping `phonenumbers`: everything is stored in E.164 (+33612345678).

`phonenumbers` costs ~150 µs to parse and validate a number and ~80 µs to format one: 15 s
for a 100,000-line import. Numbers of the default region (nearly all of them) take a fast
path built from the same `phonenumbers` metadata (the region's valid-number patterns and
its formatting rules), a few µs each; anything the fast path is not sure of goes through
`phonenumbers` itself. tests/sms/test_numbers.py checks that both paths agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, ValidationResult

from smsdesk.sms.errors import InvalidNumber

MAX_INPUT = 64  # longer input is not a phone number: refuse before parsing

_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.INVALID_LENGTH: "wrong length",
}


# What people put between digits: spaces (also non-breaking), dots, dashes, slashes, brackets.
_SEPARATORS = re.compile(r"[\s.\-/()\u00a0\u202f]+")
_NUMBER_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class _Region:
    country_code: str  # "33"
    international_prefix: str  # "00", "" when not plain digits
    national_prefix: str  # "0", "" when parsing needs more than stripping it
    valid: re.Pattern[str]  # a valid national significant number of the region
    formats: tuple[tuple[re.Pattern[str] | None, re.Pattern[str], str], ...]


@lru_cache(maxsize=16)
def _region(region: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    patterns = [
        desc.national_number_pattern
        for desc in (getattr(metadata, name) for name in _NUMBER_TYPES)
        if desc is not None and desc.national_number_pattern
    ]
    national = metadata.national_prefix or ""
    simple_national = metadata.national_prefix_for_parsing in (None, national) and (
        metadata.national_prefix_transform_rule is None
    )
    international = metadata.international_prefix or ""
    formats = []
    for f in metadata.number_format:
        if f.pattern is None or f.format is None:  # never so in phonenumbers' data
            continue
        rule = f.format
        if f.national_prefix_formatting_rule:  # e.g. "0\1": the trunk 0 before the first group
            rule = re.sub(r"(\\\d)", f.national_prefix_formatting_rule, rule, count=1)
        leading = re.compile(f.leading_digits_pattern[-1]) if f.leading_digits_pattern else None
        formats.append((leading, re.compile(f.pattern), _as_format(rule)))
    return _Region(
        country_code=str(metadata.country_code),
        international_prefix=international if international.isdigit() else "",
        national_prefix=national if simple_national and national.isdigit() else "",
        valid=re.compile("|".join(f"(?:{p})" for p in patterns)),
        formats=tuple(formats),
    )


def _as_format(rule: str) -> str:
    """ "0\\1 \\2" as "0{0} {1}": str.format is ten times faster than re's group expansion."""
    escaped = rule.replace("{", "{{").replace("}", "}}")
    return re.sub(r"\\(\d)", lambda m: f"{{{int(m.group(1)) - 1}}}", escaped)


def _fast_normalise(value: str, region: str) -> str | None:
    """E.164 of a number of `region` written in one of its usual ways, or None (not sure)."""
    rules = _region(region)
    if rules is None:
        return None
    compact = _SEPARATORS.sub("", value)
    cc = rules.country_code
    if compact.startswith("+" + cc):
        national = compact[1 + len(cc) :]
    elif rules.international_prefix and compact.startswith(rules.international_prefix + cc):
        national = compact[len(rules.international_prefix) + len(cc) :]
    elif rules.national_prefix and compact.startswith(rules.national_prefix):
        national = compact[len(rules.national_prefix) :]
    else:
        return None
    if national.isascii() and national.isdigit() and rules.valid.fullmatch(national):
        return f"+{cc}{national}"
    return None


def normalise(raw: str, *, default_region: str = "FR") -> str:
    """E.164 form of `raw` ("06 12 34 56 78", "0033 6…", "+33 6…"), or InvalidNumber."""
    value = raw.strip()
    if not value:
        raise InvalidNumber(raw, "empty")
    if len(value) > MAX_INPUT:
        raise InvalidNumber(raw[:MAX_INPUT], "too long")
    if any(c.isalpha() for c in value):
        # phonenumbers reads letters as a keypad's (or drops them): "O6…" with a letter O
        # would silently become "06…". A typed number with a letter is a typo: say so.
        raise InvalidNumber(raw, "contains letters")
    fast = _fast_normalise(value, default_region)
    if fast is not None:
        return fast
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


def compact(raw: str, *, default_region: str = "FR") -> str:
    """A number that `normalise` refused, written as a stored number would be ("06 12 34" →
    "+3361234", "0044 20…" → "+4420…"): what a contact saved by an older version, or by
    another tool, holds when it has that number. Separators removed, at most MAX_INPUT
    characters; nothing is checked."""
    text = _SEPARATORS.sub("", raw.strip())[:MAX_INPUT]
    rules = _region(default_region)
    if text.startswith("+") or rules is None:
        return text
    if rules.international_prefix and text.startswith(rules.international_prefix):
        return "+" + text[len(rules.international_prefix) :]
    if rules.national_prefix and text.startswith(rules.national_prefix):
        return f"+{rules.country_code}{text[len(rules.national_prefix) :]}"
    return text


def is_valid(raw: str, *, default_region: str = "FR") -> bool:
    try:
        normalise(raw, default_region=default_region)
    except InvalidNumber:
        return False
    return True


def format_for_display(e164: str, *, default_region: str | None = None) -> str:
    """How a stored number is shown: national ("06 12 34 56 78") when it belongs to
    `default_region`, international ("+44 7911 123456") otherwise; anything that is not a
    number (an alphanumeric sender such as "BANK") as it is."""
    if default_region:
        national = _fast_national(e164, default_region)
        if national is not None:
            return national
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    if default_region and phonenumbers.region_code_for_number(number) == default_region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _fast_national(e164: str, region: str) -> str | None:
    rules = _region(region)
    if rules is None or not e164.startswith("+" + rules.country_code):
        return None
    national = e164[1 + len(rules.country_code) :]
    if not (national.isascii() and national.isdigit() and rules.valid.fullmatch(national)):
        return None
    for leading, pattern, rule in rules.formats:
        if leading is None or leading.match(national):
            match = pattern.fullmatch(national)
            if match:
                return rule.format(*match.groups())
    return None


def search_prefix(text: str, *, default_region: str = "FR") -> tuple[str, bool] | None:
    """What a search typed as a number means, for looking it up among E.164 numbers:
    ("+33698", True) for "06 98", "+33 6 98" or "0033 698" (numbers starting with it);
    ("5432", False) for digits alone (numbers containing them); None when `text` is not
    written like (part of) a number."""
    compact = _SEPARATORS.sub("", text.strip())
    body = compact.removeprefix("+")
    if not body or not body.isascii() or not body.isdigit():
        return None
    rules = _region(default_region)
    if compact.startswith("+"):
        return compact, True
    if rules and rules.international_prefix and compact.startswith(rules.international_prefix):
        return "+" + compact[len(rules.international_prefix) :], True
    if rules and rules.national_prefix and compact.startswith(rules.national_prefix):
        return "+" + rules.country_code + compact[len(rules.national_prefix) :], True
    return compact, False


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
