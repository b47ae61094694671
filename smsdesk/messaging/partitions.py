"""The message table partitioned by month on PostgreSQL (issue 23, "Growth").

On PostgreSQL `messaging_message` is `PARTITION BY RANGE (created_at)` (migration 0025): one
partition a month, `messaging_message_pYYYYMM` (UTC months), and a DEFAULT partition for a
row whose month has none. Its primary key is (id, created_at) in the database (the model
keeps `id`, still unique: one identity); the foreign keys to a message have no constraint
(one would need the whole partition key), the code that deletes messages removes what
points to them. SQLite keeps one table: everything here is a no-op there.

- `ensure()` creates the months ahead (AHEAD), from `migrate` and the worker's heartbeat;
  a month whose rows went to the DEFAULT partition meanwhile gets its partition and its rows.
- `months()` lists the partitions' months (cached for a minute in the process): the lists
  read a page month by month, newest first (core/lists.first_rows through `ranges`), each
  query planned against one partition.
- `drop_month()`: retention removes a whole month at once (retention/services.py decides).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "messaging_message"
DEFAULT = f"{TABLE}_default"
AHEAD = 3  # months created ahead of the current one
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})(\d{{2}})$")
CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, list[datetime]]] = {}


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def previous_month(start: datetime) -> datetime:
    if start.month == 1:
        return datetime(start.year - 1, 12, 1, tzinfo=UTC)
    return datetime(start.year, start.month - 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{TABLE}_p{start.year:04d}{start.month:02d}"


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        return cursor.fetchone() is not None


def _months(cursor: object) -> list[datetime]:
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [TABLE],
    )
    found = []
    for (name,) in cursor.fetchall():  # type: ignore[attr-defined]
        m = _NAME.match(name)
        if m:
            found.append(datetime(int(m[1]), int(m[2]), 1, tzinfo=UTC))
    return sorted(found)


def months(using: str = "default") -> list[datetime]:
    """The first moment of each month that has a partition, oldest first ([] on SQLite).
    Cached CACHE_SECONDS: a reader of a stale list reads the rows all the same (see
    `ranges`), only with a query more or less."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    now = time.monotonic()
    cached = _cache.get(using)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    with connection.cursor() as cursor:
        found = _months(cursor)
    _cache[using] = (now, found)
    return found


def forget() -> None:
    _cache.clear()


def ranges(
    using: str = "default", *, newest_first: bool = True, now: datetime | None = None
) -> Iterator[tuple[datetime | None, datetime | None]]:
    """Contiguous [start, end) ranges of created_at covering every moment (None: unbounded),
    in reading order: one per month from the first partition's to this one, the newest open
    upwards (the months ahead are empty, but for a clock set forward) and the oldest open
    downwards (the DEFAULT partition's older rows), so that a table of one month is read
    in one query. Empty on SQLite."""
    found = months(using)
    if not found:
        return
    current = month_start(now or datetime.now(UTC))
    starts = [found[0]]
    while starts[-1] < current:
        starts.append(next_month(starts[-1]))
    edges: list[datetime | None] = [None, *starts[1:], None]
    bounds = list(itertools.pairwise(edges))
    yield from (reversed(bounds) if newest_first else bounds)


def create_month(cursor: object, start: datetime) -> bool:
    """The partition of the month beginning at `start`; its rows taken from the DEFAULT
    partition if some went there. False if it existed."""
    name = partition_name(start)
    end = next_month(start)
    cursor.execute("SELECT to_regclass(%s)", [name])  # type: ignore[attr-defined]
    if cursor.fetchone()[0] is not None:  # type: ignore[attr-defined]
        return False
    cursor.execute(  # type: ignore[attr-defined]
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE created_at >= %s AND created_at < %s)",
        [start, end],
    )
    strays = cursor.fetchone()[0]  # type: ignore[attr-defined]
    if not strays:
        cursor.execute(  # type: ignore[attr-defined]
            f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)", [start, end]
        )
        return True
    # Rows of that month are in the DEFAULT partition: PostgreSQL refuses a partition that
    # would leave them there. Take the DEFAULT out, move them, put it back (one transaction).
    cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT}")  # type: ignore[attr-defined]
    cursor.execute(  # type: ignore[attr-defined]
        f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)", [start, end]
    )
    cursor.execute(  # type: ignore[attr-defined]
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE created_at >= %s AND created_at < %s "
        f"RETURNING *) INSERT INTO {TABLE} OVERRIDING SYSTEM VALUE SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {DEFAULT} DEFAULT")  # type: ignore[attr-defined]
    return True


def ensure(
    using: str = "default",
    now: datetime | None = None,
    ahead: int = AHEAD,
    since: datetime | None = None,
) -> list[str]:
    """The partitions of this month and the `ahead` next ones (and of every month from
    `since`), and of every month that has rows in the DEFAULT partition; the names created.
    Nothing on SQLite."""
    connection = connections[using]
    if not is_partitioned(connection):
        return []
    start = month_start(now or datetime.now(UTC))
    wanted = [start]
    for _ in range(ahead):
        wanted.append(next_month(wanted[-1]))
    if since is not None:
        month = month_start(since)
        while month < start:
            wanted.append(month)
            month = next_month(month)
    created = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM {DEFAULT}"
        )
        strays = [row[0].replace(tzinfo=UTC) for row in cursor.fetchall()]
        for month in sorted(set(wanted) | set(strays)):
            if create_month(cursor, month):
                created.append(partition_name(month))
    forget()
    return created


def drop_month(start: datetime, using: str = "default") -> int:
    """Drop the partition of the month beginning at `start` with what points to its
    messages (their parts, unread entries, mail copies; calls keep their row, without the
    reply); the number of messages it held. The caller checked that they may all go."""
    connection = connections[using]
    name = partition_name(start)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is None:
            return 0
        cursor.execute(f"SELECT count(*) FROM {name}")
        count = int(cursor.fetchone()[0])
        ids = f"SELECT id FROM {name}"
        cursor.execute(f"DELETE FROM messaging_messagepart WHERE message_id IN ({ids})")
        cursor.execute(f"DELETE FROM messaging_unreadentry WHERE message_id IN ({ids})")
        cursor.execute(f"DELETE FROM notify_pendingcopy WHERE message_id IN ({ids})")
        cursor.execute(f"DELETE FROM messaging_outboxentry WHERE message_id IN ({ids})")
        cursor.execute(f"UPDATE calls_call SET reply_id = NULL WHERE reply_id IN ({ids})")
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
        cursor.execute(f"DROP TABLE {name}")
    forget()
    return count
