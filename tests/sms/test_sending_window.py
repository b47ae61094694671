"""The allowed hours of commercial SMS, and the French public holidays, for any year."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from smsdesk.sms.sending_window import (
    Window,
    easter_sunday,
    french_public_holidays,
    is_open,
    next_allowed,
    next_opening,
    parse_days,
    parse_hours,
)

PARIS = ZoneInfo("Europe/Paris")
DEFAULT = Window()


@pytest.mark.parametrize(
    "year,easter",
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2030, date(2030, 4, 21)),
        (2038, date(2038, 4, 25)),  # the latest possible date
        (2285, date(2285, 3, 22)),  # the earliest possible date
    ],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_easter_and_whit_monday_2027_and_2030() -> None:
    h2027 = french_public_holidays(2027)
    assert h2027[date(2027, 3, 29)] == "Lundi de Pâques"
    assert h2027[date(2027, 5, 6)] == "Ascension"
    assert h2027[date(2027, 5, 17)] == "Lundi de Pentecôte"
    h2030 = french_public_holidays(2030)
    assert h2030[date(2030, 4, 22)] == "Lundi de Pâques"
    assert h2030[date(2030, 5, 30)] == "Ascension"
    assert h2030[date(2030, 6, 10)] == "Lundi de Pentecôte"
    assert len(h2027) == len(h2030) == 11


@pytest.mark.parametrize(
    "local,expected",
    [
        # Sunday 15:00 -> Monday 08:00
        (datetime(2026, 11, 29, 15, 0), datetime(2026, 11, 30, 8, 0)),
        # 14 July (a Tuesday in 2026) -> 15 July 08:00
        (datetime(2026, 7, 14, 10, 0), datetime(2026, 7, 15, 8, 0)),
        # 14 July 2027 is a Wednesday
        (datetime(2027, 7, 14, 9, 30), datetime(2027, 7, 15, 8, 0)),
        # Inside the window: now
        (datetime(2026, 11, 25, 10, 0), datetime(2026, 11, 25, 10, 0)),
        (datetime(2026, 11, 28, 19, 59), datetime(2026, 11, 28, 19, 59)),  # Saturday
        # Too early, too late
        (datetime(2026, 11, 25, 7, 59), datetime(2026, 11, 25, 8, 0)),
        (datetime(2026, 11, 25, 20, 0), datetime(2026, 11, 26, 8, 0)),
        # Saturday evening -> Monday (Sunday is closed)
        (datetime(2026, 11, 28, 21, 0), datetime(2026, 11, 30, 8, 0)),
        # Easter Sunday 2027 evening: Monday is Easter Monday -> Tuesday
        (datetime(2027, 3, 27, 20, 30), datetime(2027, 3, 30, 8, 0)),
        # Christmas Eve night -> 26 December (Saturday 2026)
        (datetime(2026, 12, 24, 22, 0), datetime(2026, 12, 26, 8, 0)),
        # Whit Monday 2030 -> Tuesday
        (datetime(2030, 6, 10, 9, 0), datetime(2030, 6, 11, 8, 0)),
    ],
)
def test_next_opening(local: datetime, expected: datetime) -> None:
    assert next_opening(local, DEFAULT) == expected
    assert is_open(expected, DEFAULT)


def test_holidays_can_be_allowed_and_days_changed() -> None:
    window = Window(days=parse_days("mon-fri"), skip_holidays=False)
    assert next_opening(datetime(2026, 7, 14, 10, 0), window) == datetime(2026, 7, 14, 10, 0)
    assert next_opening(datetime(2026, 11, 28, 10, 0), window) == datetime(2026, 11, 30, 8, 0)


def test_next_allowed_works_in_the_zone_of_the_rule() -> None:
    # Sunday 29 Nov 2026 14:00 UTC = 15:00 Paris -> Monday 08:00 Paris = 07:00 UTC
    at = datetime(2026, 11, 29, 14, 0, tzinfo=ZoneInfo("UTC"))
    assert next_allowed(at, DEFAULT, PARIS) == datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
    assert next_allowed(at, DEFAULT, PARIS).astimezone(ZoneInfo("UTC")).hour == 7
    # Summer time: 14 July 10:00 Paris = 08:00 UTC -> 15 July 08:00 Paris = 06:00 UTC
    at = datetime(2026, 7, 14, 8, 0, tzinfo=ZoneInfo("UTC"))
    assert next_allowed(at, DEFAULT, PARIS).astimezone(ZoneInfo("UTC")) == datetime(
        2026, 7, 15, 6, 0, tzinfo=ZoneInfo("UTC")
    )
    inside = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("UTC"))
    assert next_allowed(inside, DEFAULT, PARIS) is inside


def test_parsing_the_settings() -> None:
    assert parse_days("mon-sat") == frozenset(range(6))
    assert parse_days("mon, wed,fri") == frozenset({0, 2, 4})
    assert parse_hours("08:00-20:00") == (time(8), time(20))
    for bad in ("", "lun", "sat-mon", "mon-xyz"):
        with pytest.raises(ValueError):
            parse_days(bad)
    for bad in ("8-20", "20:00-08:00", "08:00", "nope"):
        with pytest.raises(ValueError):
            parse_hours(bad)
    with pytest.raises(ValueError):
        Window(days=frozenset())
