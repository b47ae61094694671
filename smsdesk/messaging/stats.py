"""Maintained counters: how many messages (and SMS parts) were sent, delivered, failed,
received... per local day, gateway, tag and user, so the home, Passerelles and
Statistics pages never scan the message table (it has no index on `status` or `sent_at`:
see outbox.py).

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
(day, gateway, tag, user, event); `read` adds what is not folded yet, so figures are exact at
once. The tag is the key, not the campaign: every reply typed in a discussion is a campaign
of one, and a row per campaign made the counters grow with them (bench/RESULTS.md).
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
from django.utils.translation import gettext as _

from smsdesk.core import tenancy
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

# (organisation id, day, gateway, tag or "", user id or 0, event, count, parts)
Delta = tuple[int, date, str, str, int, str, int, int]
Key = tuple[int, Any, str, str, int, str]  # (organisation, day, gateway, tag, user, event)
COLUMNS = "organisation_id, day, gateway, tag, user_id, event, count, parts"


def _db_day(day: date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def local_day(at: datetime) -> date:
    """The day `at` falls on in SMSDESK_TIME_ZONE (never the zone a user chose for their
    pages: counters have one calendar)."""
    return timezone.localdate(at, timezone.get_default_timezone())


def add(deltas: Iterable[Delta]) -> None:
    """Append counter changes, summed per key, in one INSERT. Call it in the transaction
    that changed the messages."""
    summed: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for org, day, gateway, tag, user, event, count, parts in deltas:
        total = summed[(org, _db_day(day), gateway or "", tag or "", user or 0, str(event))]
        total[0] += count
        total[1] += parts
    _insert(DELTAS, [(*key, n, p) for key, (n, p) in summed.items() if n or p])


def _insert(table: str, rows: list[tuple[Any, ...]], *, upsert: str = "") -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 300):
            chunk = rows[start : start + 300]
            cursor.execute(
                f"INSERT INTO {table} ({COLUMNS}) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
                + upsert,
                [value for row in chunk for value in row],
            )


def count(
    event: str,
    *,
    at: datetime,
    gateway: str | None,
    n: int = 1,
    parts: int | None = None,
    tag: str = "",
    user: int | None = None,
    org: Any = None,
) -> None:
    """One counter change (a message received, a few blocked) of organisation `org`;
    `parts` defaults to `n`."""
    add(
        [
            (
                tenancy.org_id(tenancy.resolve(org)),
                local_day(at),
                gateway or "",
                tag,
                user or 0,
                event,
                n,
                n if parts is None else parts,
            )
        ]
    )


def fold() -> int:
    """Move the appended changes into the per-day counters; returns how many were folded.

    The DELETE takes the rows it folds (on PostgreSQL a second fold running at once skips
    them once the first commits), and the per-day rows are updated in a fixed order, so two
    folds cannot deadlock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {DELTAS} RETURNING {COLUMNS}")
            taken = cursor.fetchall()
        if not taken:
            return 0
        summed: dict[tuple[int, date, str, str, int, str], list[int]] = defaultdict(lambda: [0, 0])
        for org, day, gateway, tag, user, event, n, parts in taken:
            if isinstance(day, str):  # SQLite returns the text it stores
                day = date.fromisoformat(day)
            total = summed[(org, day, gateway, tag, user, event)]
            total[0] += n
            total[1] += parts
        rows = sorted(
            (org, _db_day(day), *rest, n, p)
            for (org, day, *rest), (n, p) in summed.items()
            if n or p
        )
        _insert(
            DAILY,
            rows,
            upsert=" ON CONFLICT (organisation_id, day, gateway, tag, user_id, event) DO UPDATE "
            f"SET count = {DAILY}.count + excluded.count, parts = {DAILY}.parts + excluded.parts",
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


def read(now: datetime | None = None, *, org: Any = None, days: int = RECENT_DAYS) -> Counts:
    """The counters of organisation `org` over the last `days` days (and the sent/reported
    totals before), folded or not, in one query over the small counter tables."""
    org = tenancy.resolve(org)
    today = local_day(now or timezone.now())
    first = today - timedelta(days=days - 1)
    old = (Event.SENT.value, Event.REPORTED.value)
    sql = (
        f"SELECT CASE WHEN day >= %s THEN day END AS d, "
        f"CASE WHEN day = %s THEN gateway ELSE '' END AS g, event, SUM(count) "
        f"FROM (SELECT day, gateway, event, count FROM {DAILY} WHERE organisation_id = %s "
        f"UNION ALL SELECT day, gateway, event, count FROM {DELTAS} "
        f"WHERE organisation_id = %s) AS c "
        f"WHERE day >= %s OR event IN (%s, %s) GROUP BY 1, 2, 3"
    )
    by_day: dict[tuple[date, str], int] = defaultdict(int)
    today_by_gateway: dict[tuple[str, str], int] = defaultdict(int)
    earlier: dict[str, int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db_day(first), _db_day(today), org.pk, org.pk, _db_day(first), *old])
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
    """Every event ever counted, per (gateway, event), folded or not, over every
    organisation: the platform's metrics' counters
    (one GROUP BY over the small counter tables, about a row per day, gateway and event)."""
    sql = (
        f"SELECT gateway, event, SUM(count) FROM (SELECT gateway, event, count FROM {DAILY} "
        f"UNION ALL SELECT gateway, event, count FROM {DELTAS}) AS c GROUP BY 1, 2"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {(gateway, event): int(n or 0) for gateway, event, n in cursor.fetchall()}


# --- the Statistics page ------------------------------------------------------------------

# What the page shows, in its order (`reported` is internal: what waits for a report).
SHOWN: tuple[str, ...] = (
    Event.SENT,
    Event.DELIVERED,
    Event.FAILED,
    Event.UNKNOWN,
    Event.BLOCKED,
    Event.RECEIVED,
)


class By(TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    LINE = "line"
    TAG = "tag"
    USER = "user"


TIME_GROUPINGS = (By.DAY, By.WEEK, By.MONTH)
MAX_DAYS = 3 * 366 + 1  # the longest period a report covers (3 years)


@dataclass
class Row:
    """One line of a report: its key (a day, a week's Monday, a month, a line, a tag in
    lower case, a user id; "" for none), what it is called, and per shown event the
    messages (`counts`) and the SMS parts (`parts`)."""

    key: str
    label: str
    counts: dict[str, int]
    parts: dict[str, int]

    def figures(self) -> dict[str, int | None]:
        """The page's, the CSV's and the API's figures, in their order (`FIGURES`)."""
        c = self.counts
        sent, delivered = c.get(Event.SENT, 0), c.get(Event.DELIVERED, 0)
        return {
            "sent": sent,
            "sent_parts": self.parts.get(Event.SENT, 0),
            "delivered": delivered,
            "failed": c.get(Event.FAILED, 0),
            "unknown": c.get(Event.UNKNOWN, 0),
            "blocked": c.get(Event.BLOCKED, 0),
            "received": c.get(Event.RECEIVED, 0),
            # delivered ÷ sent in whole percent; a report may come the day after its sending
            "delivery_rate": round(100 * delivered / sent) if sent else None,
        }


FIGURES = (
    "sent",
    "sent_parts",
    "delivered",
    "failed",
    "unknown",
    "blocked",
    "received",
    "delivery_rate",
)


@dataclass
class Report:
    first: date
    last: date
    by: str
    rows: list[Row]

    def total(self) -> Row:
        """Every row added up."""
        total = Row("", "", {}, {})
        for r in self.rows:
            for event in SHOWN:
                total.counts[event] = total.counts.get(event, 0) + r.counts.get(event, 0)
                total.parts[event] = total.parts.get(event, 0) + r.parts.get(event, 0)
        return total


def _period_key(day: date, by: str) -> date:
    if by == By.WEEK:
        return day - timedelta(days=day.weekday())
    if by == By.MONTH:
        return day.replace(day=1)
    return day


def report(*, first: date, last: date, by: str, org: Any = None) -> Report:
    """The counters of organisation `org` from `first` to `last` (local days, both
    included) grouped by day, week,
    month, line, tag or user: one GROUP BY over the counter tables (folded and not yet
    folded, so exact at once); never a message read. Tags are one whatever their case.
    A week starts on Monday; days with nothing are listed too (the chart's axis)."""
    from smsdesk.accounts.models import User  # labels only

    column = {By.LINE: "gateway", By.TAG: "tag", By.USER: "user_id"}.get(By(by), "day")
    shown = ", ".join(["%s"] * len(SHOWN))
    part = f"SELECT {column}, event, count, parts FROM {{}} "
    part += f"WHERE organisation_id = %s AND day >= %s AND day <= %s AND event IN ({shown})"
    sql = (
        f"SELECT {column}, event, SUM(count), SUM(parts) FROM ("
        f"{part.format(DAILY)} UNION ALL {part.format(DELTAS)}) c GROUP BY 1, 2"
    )
    org = tenancy.resolve(org)
    bounds = [org.pk, _db_day(first), _db_day(last), *SHOWN]
    rows: dict[object, Row] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, bounds * 2)
        found = cursor.fetchall()
    for key, event, n, parts in found:
        name = ""
        if by in TIME_GROUPINGS:
            if isinstance(key, str):
                key = date.fromisoformat(key)
            key = _period_key(key, by)
        elif by == By.TAG:  # one tag whatever its case (in Python: SQLite's LOWER is ASCII)
            name, key = key, key.lower()
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(str(key or ""), name or "", defaultdict(int), defaultdict(int))
        row.counts[event] += int(n or 0)
        row.parts[event] += int(parts or 0)
        if name and not row.label:
            row.label = name
    if by in TIME_GROUPINGS:
        day = first
        while day <= last:  # every period, even an empty one
            key = _period_key(day, by)
            rows.setdefault(key, Row(key.isoformat(), "", {}, {}))
            day += timedelta(days=1)
        ordered = [rows[k] for k in sorted(rows)]  # type: ignore[type-var]
        for row in ordered:
            row.key = row.key[:7] if by == By.MONTH else row.key
            row.label = row.key
    else:
        ordered = sorted(rows.values(), key=lambda r: -r.counts.get(Event.SENT, 0))
        if by == By.USER:
            ids = [int(r.key) for r in ordered if r.key not in ("", "0")]
            names = {
                str(u.pk): u.get_full_name() or u.get_username()
                for u in User.objects.filter(pk__in=ids)
            }
            for row in ordered:
                if row.key == "0":
                    row.key = ""
                row.label = names.get(row.key, "")
    for row in ordered:
        row.counts, row.parts = dict(row.counts), dict(row.parts)
    return Report(first, last, by, ordered)


DEFAULT_DAYS = 30


def period(
    *, first: str | date | None, last: str | date | None, by: str | None, today: date | None = None
) -> tuple[date, date, str]:
    """The period and grouping a person or a program asked for (the page's form, the API's
    `from`, `to`, `by`): local days written YYYY-MM-DD, `from` not after `to`, at most
    `MAX_DAYS` days. Empty: the last 30 days by day. Every fault is reported at once."""
    from smsdesk.core.errors import collect
    from smsdesk.messaging.errors import BadPeriod

    today = today or local_day(timezone.now())

    def day_of(value: str | date | None, name: str, default: date) -> date:
        if isinstance(value, date):
            return value
        text = (value or "").strip()
        if not text:
            return default
        try:
            if len(text) != 10:
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise BadPeriod(
                _("“%(value)s” is not a date: write it YYYY-MM-DD (for example %(example)s).")
                % {"value": text[:20], "example": today.isoformat()},
                field=name,
            ) from None

    def grouping() -> str:
        value = (by or "").strip() or By.DAY
        if value not in By.values:
            raise BadPeriod(
                _("Group by one of: %(choices)s.") % {"choices": ", ".join(By.values)},
                field="by",
            )
        return value

    start, end, grouped = collect(
        lambda: day_of(first, "from", today - timedelta(days=DEFAULT_DAYS - 1)),
        lambda: day_of(last, "to", today),
        grouping,
    )
    if start > end:
        raise BadPeriod(_("The start of the period is after its end."), field="from")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadPeriod(
            _("The period is too long: at most %(days)d days.") % {"days": MAX_DAYS},
            field="from",
        )
    return start, end, grouped
