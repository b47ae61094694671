"""Maintained counters: how many messages were sent, delivered, failed, received... per
local day and gateway, so the home and Passerelles pages never scan the message table (it
has no index on `status` or `sent_at`: see outbox.py).

Events, counted on the day they happen (SMSDESK_TIME_ZONE), as Kannel and playSMS count:

- `sent`: handed over to the network (`sent_at`); a message sent again after a retry is
  handed over, so counted, again;
- `delivered`, `failed` (a failure report, or refused for good), `unknown`, `blocked`
  (STOP): on the day the message reached that state (`status_at`);
- `received`: an inbound SMS, on the day the network says it was sent (`created_at`);
- `reported`: a delivery or failure report for a message sent that day (counted on the
  day of its `sent_at`), so that `sent - reported` of past days is what still waits for
  its report.

Write path: whatever changes a message's state appends `CountDelta` rows in the same
transaction (one multi-row INSERT per batch, summed in Python first, or a data-modifying
CTE in the statement itself). Rows are only ever inserted, so two workers never wait on
one counter. `fold` (the worker's heartbeat) moves them into `DailyCount`, one row per
(day, gateway, event); `read` adds what is not folded yet, so figures are exact at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import TextChoices
from django.utils import timezone

from smsdesk.messaging.models import CountDelta, DailyCount


class Event(TextChoices):
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"
    RECEIVED = "received"
    BLOCKED = "blocked"
    REPORTED = "reported"


DELTAS = CountDelta._meta.db_table
DAILY = DailyCount._meta.db_table

# (day, gateway, event, count)
Delta = tuple[date, str, str, int]


def _db_day(day: date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def local_day(at: datetime) -> date:
    """The day `at` falls on in SMSDESK_TIME_ZONE (never the zone a user chose for their
    pages: counters have one calendar)."""
    return timezone.localdate(at, timezone.get_default_timezone())


def add(deltas: Iterable[Delta]) -> None:
    """Append counter changes, summed per (day, gateway, event), in one INSERT. Call it in
    the transaction that changed the messages."""
    summed: dict[tuple[Any, str, str], int] = defaultdict(int)
    for day, gateway, event, count in deltas:
        summed[(_db_day(day), gateway or "", str(event))] += count
    rows = [(*key, n) for key, n in summed.items() if n]
    if not rows:
        return
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            cursor.execute(
                f"INSERT INTO {DELTAS} (day, gateway, event, count) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )


def count(event: str, *, at: datetime, gateway: str | None, n: int = 1) -> None:
    """One counter change (a message received, a few blocked)."""
    add([(local_day(at), gateway or "", event, n)])


def fold() -> int:
    """Move the appended changes into the per-day counters; returns how many were folded.

    The DELETE takes the rows it folds (on PostgreSQL a second fold running at once skips
    them once the first commits), and the per-day rows are updated in a fixed order, so two
    folds cannot deadlock."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DELTAS} RETURNING day, gateway, event, count")
        taken = cursor.fetchall()
        if not taken:
            return 0
        summed: dict[tuple[date, str, str], int] = defaultdict(int)
        for day, gateway, event, n in taken:
            if isinstance(day, str):  # SQLite returns the text it stores
                day = date.fromisoformat(day)
            summed[(day, gateway, event)] += n
        rows = sorted((_db_day(day), g, e, n) for (day, g, e), n in summed.items() if n)
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            cursor.execute(
                f"INSERT INTO {DAILY} (day, gateway, event, count) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
                + f" ON CONFLICT (day, gateway, event) DO UPDATE "
                f"SET count = {DAILY}.count + excluded.count",
                [value for row in chunk for value in row],
            )
    return len(taken)


@dataclass(frozen=True)
class Counts:
    """What `read` found: per (day, event) over the recent days, per (gateway, event) for
    today, and per event before the recent days (only `sent` and `reported`)."""

    today: date
    by_day: dict[tuple[date, str], int]
    today_by_gateway: dict[tuple[str, str], int]
    earlier: dict[str, int]

    def total(self, event: str, *, days: int) -> int:
        """`event` over the last `days` days, today included."""
        first = self.today - timedelta(days=days - 1)
        return sum(n for (day, e), n in self.by_day.items() if e == event and day >= first)

    def per_day(self, event: str, *, days: int) -> list[tuple[date, int]]:
        first = self.today - timedelta(days=days - 1)
        return [
            (first + timedelta(days=i), self.by_day.get((first + timedelta(days=i), event), 0))
            for i in range(days)
        ]

    def sent_without_report(self, *, before: date) -> int:
        """Messages sent before that day that have had no delivery report (a lower bound
        of those older than a given time: whole days only)."""
        recent = sum(
            n if e == Event.SENT else -n
            for (day, e), n in self.by_day.items()
            if day < before and e in (Event.SENT, Event.REPORTED)
        )
        return max(
            0, self.earlier.get(Event.SENT, 0) - self.earlier.get(Event.REPORTED, 0) + recent
        )


RECENT_DAYS = 31  # what the home page shows (30 days), and a day of margin


def read(now: datetime | None = None, *, days: int = RECENT_DAYS) -> Counts:
    """The counters of the last `days` days (and the sent/reported totals before), folded
    or not, in one query over the small counter tables."""
    today = local_day(now or timezone.now())
    first = today - timedelta(days=days - 1)
    old = (Event.SENT.value, Event.REPORTED.value)
    sql = (
        f"SELECT CASE WHEN day >= %s THEN day END AS d, "
        f"CASE WHEN day = %s THEN gateway ELSE '' END AS g, event, SUM(count) "
        f"FROM (SELECT day, gateway, event, count FROM {DAILY} "
        f"UNION ALL SELECT day, gateway, event, count FROM {DELTAS}) AS c "
        f"WHERE day >= %s OR event IN (%s, %s) GROUP BY 1, 2, 3"
    )
    by_day: dict[tuple[date, str], int] = defaultdict(int)
    today_by_gateway: dict[tuple[str, str], int] = defaultdict(int)
    earlier: dict[str, int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db_day(first), _db_day(today), _db_day(first), *old])
        for day, gateway, event, n in cursor.fetchall():
            n = int(n or 0)
            if day is None:
                earlier[event] += n
                continue
            if isinstance(day, str):
                day = date.fromisoformat(day)
            by_day[(day, event)] += n
            if day == today:
                today_by_gateway[(gateway, event)] += n
    return Counts(today, dict(by_day), dict(today_by_gateway), dict(earlier))


def totals() -> dict[tuple[str, str], int]:
    """Every event ever counted, per (gateway, event), folded or not: the metrics' counters
    (one GROUP BY over the small counter tables, about a row per day, gateway and event)."""
    sql = (
        f"SELECT gateway, event, SUM(count) FROM (SELECT gateway, event, count FROM {DAILY} "
        f"UNION ALL SELECT gateway, event, count FROM {DELTAS}) AS c GROUP BY 1, 2"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {(gateway, event): int(n or 0) for gateway, event, n in cursor.fetchall()}
