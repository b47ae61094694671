"""The bounds of what a request or a command may name: ids, moments, query parameters.

One parser each, used by the forms, the API and the lists, so that a value no database
column can hold is refused (or ignored) where it enters, never sent to the database:

- an id is 1 to 2**63 - 1 (a 64-bit key): SQLite raises OverflowError on a larger one in an
  `IN (...)`, PostgreSQL a DataError; "²" is a digit to `str.isdigit` but not to `int`;
- a moment must stay inside Python's calendar once in UTC: 9999-12-31T23:59:59-23:59 is in
  the year 10000 in UTC, 0001-01-01T00:00:00+23:59 in the year 0 (OverflowError);
- a query parameter never holds a control character: a NUL cannot be stored by PostgreSQL
  and fails the query with a 500 (README: invisible characters are refused, not removed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.core.text import ControlCharacter, check_typed, has_controls

MAX_ID = 2**63 - 1
# A day inside the calendar's ends: any UTC offset (at most ±24 h) of a moment in range can
# be converted and shown in any time zone.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def parse_id(value: object) -> int | None:
    """A row id written in ASCII digits (or an int) from 1 to MAX_ID, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def ids(values: Iterable[object], *, limit: int) -> list[int]:
    """The valid ids among the first `limit` values (ticked boxes, picked contacts): anything
    else was not written by our pages and is ignored."""
    found = []
    for i, value in enumerate(values):
        if i >= limit:
            break
        number = parse_id(value)
        if number is not None:
            found.append(number)
    return found


class OutOfCalendar(ValueError):
    """A moment the databases and Python cannot hold once in UTC."""


def moment(value: datetime) -> datetime:
    """`value` as an aware datetime in UTC (a naive one is read in the configured time zone),
    or OutOfCalendar."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc <= LATEST:
        raise OutOfCalendar(
            _("The date must be between %(first)s and %(last)s (UTC).")
            % {"first": EARLIEST.date().isoformat(), "last": LATEST.date().isoformat()}
        )
    return in_utc


def control_in_query(request: HttpRequest) -> ControlCharacter | None:
    """The refusal of the first query parameter (name or value) holding a control
    character, or None."""
    for name, values in request.GET.lists():
        field = None if has_controls(name) else name[:40]
        label = field or _("A parameter's name")
        for text in (name, *values):
            try:
                check_typed(text, field=label, label=label)
            except ControlCharacter as e:
                e.field = field
                return e
    return None
