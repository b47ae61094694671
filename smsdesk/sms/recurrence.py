"""When a recurring send fires: every day, every week on chosen days, or every month on a day
of the month or a last weekday ("last Friday"), at a local time, until a date or N times.

Pure: the time zone is passed in (zoneinfo). Times are computed on the local calendar and
only then turned into UTC, so 09:00 stays 09:00 across the clock changes (the UTC instant
moves by an hour). A local time that does not exist on a spring-forward day (02:30 in
Paris on the last Sunday of March) is the instant the clock jumps past (03:30); one that
exists twice in autumn is its first occurrence (fold 0), as cron and Google Calendar do.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from smsdesk.sms.errors import SmsError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Searching day by day, a rule fires at least once in 31 days (a month, "day 31" meaning
# the last day of a shorter month); 400 bounds the search whatever the rule.
_SEARCH_DAYS = 400


class Every(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class InvalidRepeat(SmsError):
    """A repeat rule that cannot fire; `field` names the part at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Repeat:
    every: Every
    at: time
    weekdays: tuple[int, ...] = ()  # WEEK: 0 = Monday
    month_day: int | None = None  # MONTH: 1..31 (31: the last day of shorter months)
    last_weekday: int | None = None  # MONTH: the month's last such weekday (4 = Friday)
    until: date | None = None  # last local date an occurrence may fall on
    times: int | None = None  # how many occurrences in all

    def fires_on(self, day: date) -> bool:
        if self.every is Every.DAY:
            return True
        if self.every is Every.WEEK:
            return day.weekday() in self.weekdays
        if self.last_weekday is not None:
            return day.weekday() == self.last_weekday and (day + timedelta(days=7)).month != (
                day.month
            )
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(self.month_day or 1, last)

    def as_record(self) -> dict[str, object]:
        """The API's and the CLI's form: {"every", "on" | "day", "at", "until" | "times"}."""
        record: dict[str, object] = {"every": self.every.value, "at": self.at.strftime("%H:%M")}
        if self.every is Every.WEEK:
            record["on"] = [WEEKDAYS[d] for d in self.weekdays]
        if self.every is Every.MONTH:
            record["day"] = (
                f"last-{WEEKDAYS[self.last_weekday]}"
                if self.last_weekday is not None
                else self.month_day
            )
        if self.until is not None:
            record["until"] = self.until.isoformat()
        if self.times is not None:
            record["times"] = self.times
        return record


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, as a UTC instant (see the module's note on the changes)."""
    wall = datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    return wall.astimezone(UTC)


def next_after(rule: Repeat, after: datetime, zone: ZoneInfo, *, done: int = 0) -> datetime | None:
    """The first occurrence strictly after `after` (aware), in UTC; None when the rule is
    over (its `until` date passed, or `done` occurrences out of `times`)."""
    if rule.times is not None and done >= rule.times:
        return None
    day = after.astimezone(zone).date()
    for _ in range(_SEARCH_DAYS):
        if rule.until is not None and day > rule.until:
            return None
        if rule.fires_on(day):
            instant = local_instant(day, rule.at, zone)
            if instant > after:
                return instant
        day += timedelta(days=1)
    return None


def parse_weekdays(values: object) -> tuple[int, ...]:
    """["mon", "thu"], "mon,thu" or "monday,thursday" -> (0, 3), sorted, each once."""
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, (list, tuple)) or not values:
        raise InvalidRepeat("on: give days of the week, e.g. mon,thu", field="on")
    found: set[int] = set()
    for value in values:
        name = value.strip().lower() if isinstance(value, str) else ""
        if name in _LONG:
            name = _LONG[name]
        if name not in WEEKDAYS:
            raise InvalidRepeat(
                f"on: « {str(value)[:20]} » is not a day (mon, tue, wed, thu, fri, sat, sun)",
                field="on",
            )
        found.add(WEEKDAYS.index(name))
    return tuple(sorted(found))


_LONG = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}


def parse_month_day(value: object) -> tuple[int | None, int | None]:
    """15 -> (15, None); "last-fri" -> (None, 4)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int) or (
        isinstance(value, str) and value.isascii() and value.strip().isdigit()
    ):
        number = int(value)
        if 1 <= number <= 31:
            return number, None
    if isinstance(value, str) and value.strip().lower().startswith("last-"):
        name = value.strip().lower()[5:]
        if name in WEEKDAYS:
            return None, WEEKDAYS.index(name)
    raise InvalidRepeat(
        f"day: « {str(value)[:20]} » is neither a day of the month (1 to 31) nor last-DAY "
        "(e.g. last-fri)",
        field="day",
    )


def parse_time(value: object) -> time:
    """ "09:00" -> 09:00 (hours 0-23, minutes 0-59)."""
    text = value.strip() if isinstance(value, str) and value.isascii() else ""
    hours, sep, minutes = text.partition(":")
    well_formed = sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
    if well_formed and len(hours) <= 2 and int(hours) < 24 and int(minutes) < 60:
        return time(int(hours), int(minutes))
    raise InvalidRepeat(f"at: « {str(value)[:20]} » is not a time like 09:00", field="at")
