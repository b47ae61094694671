from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.sms import numbers
from smsdesk.sms.errors import InvalidNumber


@pytest.mark.parametrize(
    "raw",
    ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "06.12.34.56.78", "(06) 12-34-56-78"],
)
def test_french_forms_normalise_to_e164(raw: str) -> None:
    assert numbers.normalise(raw) == "+33612345678"


def test_an_international_number_keeps_its_country() -> None:
    assert numbers.normalise("+44 7911 123456") == "+447911123456"


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12", "too short"),
        ("abc", "not a phone number"),
        ("0612345678901234", "too long"),
        ("x" * 65, "too long"),
        ("+1 555 123 4567", "not a valid number"),
    ],
)
def test_bad_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as e:
        numbers.normalise(raw)
    assert e.value.reason == reason


def test_parse_many_deduplicates_and_collects_errors() -> None:
    valid, invalid = numbers.parse_many("06 12 34 56 78\n+33612345678; 12, 0698765432\n\n")
    assert valid == ["+33612345678", "+33698765432"]
    assert [e.value for e in invalid] == [" 12"]


def test_format_for_display() -> None:
    assert numbers.format_for_display("+33612345678") == "+33 6 12 34 56 78"
    assert numbers.format_for_display("BANK") == "BANK"


@given(st.text(max_size=80))
def test_normalise_is_total(raw: str) -> None:
    """Any input from a stranger gives E.164 or InvalidNumber, never another exception."""
    try:
        result = numbers.normalise(raw)
    except InvalidNumber:
        return
    assert result.startswith("+") and result[1:].isdigit()
