"""When a commercial SMS may go out: the allowed days and hours, minus French public holidays.

Pure functions (no Django, no I/O). The default window is Monday to Saturday, 08:00 to 20:00,
Europe/Paris time, never on a French public holiday (README, "Commercial SMS", says where these
figures come from). Every date is computed, for any year: Easter by the Gregorian computus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    days: frozenset[int] = frozenset(range(6))  # 0 = Monday ... 6 = Sunday
    start: time = time(8, 0)
    end: time = time(20, 0)
    skip_holidays: bool = True

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("the window needs at least one day, 0 (Monday) to 6 (Sunday)")
        if self.start >= self.end:
            raise ValueError("the window must start before it ends")


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm (Meeus/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def french_public_holidays(year: int) -> dict[date, str]:
    """The eleven public holidays of metropolitan France (Code du travail, art. L3133-1).

    (Alsace-Moselle adds Good Friday and 26 December; overseas departments add the abolition
    of slavery: not included.)
    """
    easter = easter_sunday(year)
    return {
        date(year, 1, 1): "Jour de l'an",
        easter + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }


def is_holiday(day: date) -> bool:
    return day in french_public_holidays(day.year)


def is_open_day(day: date, window: Window) -> bool:
    return day.weekday() in window.days and not (window.skip_holidays and is_holiday(day))


def is_open(local: datetime, window: Window) -> bool:
    """Whether a wall-clock time (naive, in the window's zone) is inside the window."""
    return is_open_day(local.date(), window) and window.start <= local.time() < window.end


def next_opening(local: datetime, window: Window) -> datetime:
    """`local` itself when it is inside the window, else the next time the window opens."""
    if is_open(local, window):
        return local
    day = local.date()
    if local.time() >= window.start:  # today's window has passed (or is closed today)
        day += timedelta(days=1)
    for _ in range(366 + 7):  # a window with at least one day opens within a year
        if is_open_day(day, window):
            return datetime.combine(day, window.start)
        day += timedelta(days=1)
    raise ValueError("the window never opens")  # pragma: no cover - every weekday a holiday


def next_allowed(at: datetime, window: Window, zone: tzinfo) -> datetime:
    """The first aware time at or after `at` (aware) when the window is open in `zone`."""
    local = at.astimezone(zone)
    opening = next_opening(local.replace(tzinfo=None), window)
    if opening == local.replace(tzinfo=None):
        return at
    return opening.replace(tzinfo=zone)


def parse_days(text: str) -> frozenset[int]:
    """Days such as "mon,tue,wed" or "mon-sat" -> {0..5}."""
    days: set[int] = set()
    for part in text.replace(" ", "").lower().split(","):
        if not part:
            continue
        first, _dash, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"unknown day {part!r}: use {', '.join(DAY_NAMES)}")
        a, b = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        if b < a:
            raise ValueError(f"{part!r}: write the days in order, e.g. mon-sat")
        days.update(range(a, b + 1))
    if not days:
        raise ValueError("give at least one day")
    return frozenset(days)


def parse_hours(text: str) -> tuple[time, time]:
    """Hours such as "08:00-20:00" -> (08:00, 20:00)."""
    try:
        start, end = (time.fromisoformat(t.strip()) for t in text.split("-"))
    except ValueError:
        raise ValueError(f"{text!r} is not a range of hours like 08:00-20:00") from None
    if start >= end:
        raise ValueError(f"{text!r}: the start must be before the end")
    return start, end
