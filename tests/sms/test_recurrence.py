"""The recurrence rule alone: local times across the clock changes, months, ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from smsdesk.sms.recurrence import (
    Every,
    InvalidRepeat,
    Repeat,
    next_after,
    parse_month_day,
    parse_time,
    parse_weekdays,
)

PARIS = ZoneInfo("Europe/Paris")


def occurrences(rule: Repeat, start: datetime, count: int) -> list[datetime]:
    found, at = [], start
    for done in range(count):
        nxt = next_after(rule, at, PARIS, done=done)
        if nxt is None:
            break
        found.append(nxt)
        at = nxt
    return found


def test_a_weekly_send_stays_at_nine_local_across_both_clock_changes() -> None:
    # Mondays and Thursdays at 09:00, from February to November 2026: Paris moves to summer
    # time on 29 March and back on 25 October.
    rule = Repeat(every=Every.WEEK, at=time(9, 0), weekdays=(0, 3))
    found = occurrences(rule, datetime(2026, 2, 1, tzinfo=UTC), 80)
    local = [f.astimezone(PARIS) for f in found]
    assert all((t.hour, t.minute) == (9, 0) for t in local)
    assert {t.weekday() for t in local} == {0, 3}
    march = [f for f in found if date(2026, 3, 26) <= f.date() <= date(2026, 4, 2)]
    october = [f for f in found if date(2026, 10, 22) <= f.date() <= date(2026, 10, 29)]
    # the UTC instant moves by an hour, the local time does not
    assert [f.hour for f in march] == [8, 7, 7]  # Thu 26 (UTC+1), Mon 30, Thu 2 (UTC+2)
    assert [f.hour for f in october] == [7, 8, 8]  # Thu 22 (UTC+2), Mon 26, Thu 29 (UTC+1)


def test_a_time_the_spring_change_skips_goes_out_when_the_clock_jumps_past_it() -> None:
    rule = Repeat(every=Every.DAY, at=time(2, 30))
    nxt = next_after(rule, datetime(2026, 3, 28, 12, tzinfo=UTC), PARIS)
    assert nxt is not None and nxt.astimezone(PARIS).date() == date(2026, 3, 29)
    assert nxt.astimezone(PARIS).time() == time(3, 30)


def test_monthly_on_a_day_and_on_the_last_friday() -> None:
    day31 = Repeat(every=Every.MONTH, at=time(9), month_day=31)
    dates = [
        f.astimezone(PARIS).date() for f in occurrences(day31, datetime(2026, 1, 1, tzinfo=UTC), 4)
    ]
    assert dates == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    last_fri = Repeat(every=Every.MONTH, at=time(9), last_weekday=4)
    dates = [
        f.astimezone(PARIS).date()
        for f in occurrences(last_fri, datetime(2026, 1, 1, tzinfo=UTC), 3)
    ]
    assert dates == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27)]


def test_until_and_times_end_the_rule() -> None:
    until = Repeat(every=Every.DAY, at=time(9), until=date(2026, 1, 3))
    assert len(occurrences(until, datetime(2026, 1, 1, tzinfo=UTC), 10)) == 3
    times = Repeat(every=Every.DAY, at=time(9), times=2)
    assert len(occurrences(times, datetime(2026, 1, 1, tzinfo=UTC), 10)) == 2


@pytest.mark.parametrize(
    "parse, value",
    [
        (parse_weekdays, "mon,funday"),
        (parse_weekdays, []),
        (parse_weekdays, [1]),
        (parse_month_day, 0),
        (parse_month_day, 32),
        (parse_month_day, "last-xyz"),
        (parse_month_day, True),
        (parse_time, "9h"),
        (parse_time, "24:00"),
        (parse_time, "09:60"),
        (parse_time, "09:0"),
        (parse_time, None),
        (parse_time, "٠٩:٠٠"),
    ],
)
def test_hostile_parts_are_refused(parse, value) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRepeat):
        parse(value)


def test_parts_as_people_write_them() -> None:
    assert parse_weekdays("mon,thu") == (0, 3)
    assert parse_weekdays(["Thursday", "MON", "mon"]) == (0, 3)
    assert parse_month_day("15") == (15, None)
    assert parse_month_day("last-fri") == (None, 4)
    assert parse_time("9:05") == time(9, 5)
