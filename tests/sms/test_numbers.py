from __future__ import annotations

import phonenumbers
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
        ("abc", "contains letters"),
        ("O6 12 34 56 78", "contains letters"),  # a letter O, not a zero
        ("--- ---", "not a phone number"),
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


# The fast path for the default region must agree with phonenumbers wherever it answers.
_SEP = st.sampled_from(["", " ", ".", "-", " ", "/"])


@given(
    prefix=st.sampled_from(["0", "+33", "0033", "+33 ", "00 33 ", "+330", "33", "+44", ""]),
    digits=st.lists(st.sampled_from("0123456789"), min_size=7, max_size=11),
    sep=_SEP,
)
def test_the_fast_path_agrees_with_phonenumbers(prefix: str, digits: list[str], sep: str) -> None:
    raw = prefix + sep.join("".join(digits[i : i + 2]) for i in range(0, len(digits), 2))
    fast = numbers._fast_normalise(raw, "FR")
    try:
        slow = phonenumbers.format_number(
            phonenumbers.parse(raw, "FR"), phonenumbers.PhoneNumberFormat.E164
        )
        valid = phonenumbers.is_valid_number(phonenumbers.parse(raw, "FR"))
    except phonenumbers.NumberParseException:
        slow, valid = None, False
    if fast is not None:
        assert valid and fast == slow, raw
    if valid:
        assert numbers.normalise(raw) == slow


@given(national=st.from_regex(r"[1-9][0-9]{8}", fullmatch=True))
def test_national_display_agrees_with_phonenumbers(national: str) -> None:
    number = phonenumbers.parse("+33" + national)
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert numbers.format_for_display("+33" + national, default_region="FR") == expected


@pytest.mark.parametrize(
    "e164,shown",
    [
        ("+33612345678", "06 12 34 56 78"),
        ("+33140000000", "01 40 00 00 00"),
        ("+33800123456", "0 800 12 34 56"),
        ("+447911123456", "+44 7911 123456"),
        ("BANK", "BANK"),
    ],
)
def test_display_is_national_at_home_and_international_abroad(e164: str, shown: str) -> None:
    assert numbers.format_for_display(e164, default_region="FR") == shown


@pytest.mark.parametrize(
    "typed,meaning",
    [
        ("06 98", ("+33698", True)),
        ("+33 6 98", ("+33698", True)),
        ("0033 698", ("+33698", True)),
        ("06.98.76", ("+3369876", True)),
        ("7654", ("7654", False)),
        ("Dupont", None),
        ("", None),
    ],
)
def test_what_a_search_typed_as_a_number_means(typed: str, meaning: object) -> None:
    assert numbers.search_prefix(typed) == meaning
