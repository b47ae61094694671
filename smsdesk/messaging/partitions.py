"""The message table partitioned by month on PostgreSQL (issue 23, "Growth"): an option.

`migrate` leaves `messaging_message` one table, on every database. The provider may turn it
into a table partitioned by month with `smsdesk messages partition --by-month` (`rebuild`),
and back with `--one-table`: month drops and lists at ten million messages against a slower
send path and several slower searches at a million (docs/scaling.md, bench/RESULTS.md).
Everything below that reads the months does nothing special on one table.

Partitioned, `messaging_message` is `PARTITION BY RANGE (created_at)`: one
partition a month, `messaging_message_pYYYYMM` (UTC months), and a DEFAULT partition for a
row whose month has none. Its primary key is (id, created_at) in the database (the model
keeps `id`, still unique: one identity); the foreign keys to a message have no constraint
(one would need the whole partition key), the code that deletes messages removes what
points to them. SQLite keeps one table: everything here is a no-op there, `rebuild` refuses.

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
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

from smsdesk.core.errors import ServiceError

TABLE = "messaging_message"
DEFAULT = f"{TABLE}_default"
AHEAD = 3  # months created ahead of the current one
OLD = f"{TABLE}_old"
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
    `ranges`), only with a query more or less. One table (no month) is cached until
    `forget()`: turning the partitions on needs a stop of the processes (docs/scaling.md),
    and a page then costs no catalog query now and then (the pages' query counts stay
    exact)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    now = time.monotonic()
    cached = _cache.get(using)
    if cached is not None and (not cached[1] or now - cached[0] < CACHE_SECONDS):
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
    for _i in range(ahead):
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


# -- the rebuild (smsdesk messages partition) ------------------------------------------------


class WrongShape(ServiceError):
    """The rebuild asked on SQLite, or for the shape the table already has."""

    code = "wrong_shape"


def _check(connection: BaseDatabaseWrapper, by_month: bool) -> None:
    if connection.vendor != "postgresql":
        raise WrongShape(
            _(
                "The message table can be partitioned by month on PostgreSQL only; this "
                "database is %(vendor)s and keeps one table."
            )
            % {"vendor": connection.display_name}
        )
    if is_partitioned(connection) == by_month:
        raise WrongShape(
            _("The message table is already partitioned by month: nothing to do.")
            if by_month
            else _("The message table is already one table: nothing to do.")
        )


def _months_for(oldest: datetime | None, now: datetime) -> list[datetime]:
    """The months a table partitioned now gets: from the oldest row's to AHEAD after now's."""
    month = month_start(oldest or now)
    last = month_start(now)
    for _i in range(AHEAD):
        last = next_month(last)
    found = []
    while month <= last:
        found.append(month)
        month = next_month(month)
    return found


def plan(connection: BaseDatabaseWrapper, *, by_month: bool) -> tuple[int, list[datetime]]:
    """What `rebuild` would do, changing nothing: the rows it copies and the months it makes
    ([] towards one table). WrongShape on SQLite or when the table has that shape already."""
    _check(connection, by_month)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), min(created_at) FROM {TABLE}")
        count, oldest = cursor.fetchone()
    return int(count), (_months_for(oldest, datetime.now(UTC)) if by_month else [])


def _indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
        [table],
    )
    return list(cursor.fetchall())


def _foreign_keys(cursor: Any, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    return list(cursor.fetchall())


def rebuild(connection: BaseDatabaseWrapper, *, by_month: bool) -> int:
    """The message table made again partitioned by month (`by_month`) or as one table, in
    one transaction holding it locked (about 11-19 s a million messages, bench/RESULTS.md):
    renamed, a new one made like it (columns, defaults, identity, CHECKs), its primary key
    (id, created_at) with a DEFAULT partition and a partition a month from the oldest row's
    to AHEAD after this one, or (id) alone; the rows copied; the indexes and foreign keys of
    the old table made again under the same names (Meta.indexes, the words' GIN index,
    Django's indexes of the foreign keys); the identity continued after the last id. The
    foreign keys to a message have no constraint (messaging 0025, notify 0003, calls 0005):
    nothing else changes. The number of months made (0 towards one table). WrongShape on
    SQLite or when the table has that shape already."""
    _check(connection, by_month)
    made = 0
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        _check(connection, by_month)  # again: another rebuild may have run meanwhile
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        indexes = _indexes(cursor, OLD)
        foreign = _foreign_keys(cursor, OLD)
        for name, _definition in indexes:
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name[:55]}_old"')
        cursor.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {TABLE}_pkey TO {OLD}_pkey")
        like = (
            f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY "
            "INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        if by_month:
            cursor.execute(f"{like} PARTITION BY RANGE (created_at)")
            cursor.execute(
                f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, created_at)"
            )
            cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
            cursor.execute(f"SELECT min(created_at) FROM {OLD}")
            for month in _months_for(cursor.fetchone()[0], datetime.now(UTC)):
                made += create_month(cursor, month)
        else:
            cursor.execute(like)
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
        cursor.execute(f"INSERT INTO {TABLE} OVERRIDING SYSTEM VALUE SELECT * FROM {OLD}")
        for name, definition in indexes:
            definition = definition.replace(" ON ONLY ", " ON ").replace(f'"{name}"', name)
            old_name = f"{name[:55]}_old"
            definition = definition.replace(f"INDEX {old_name} ON", f"INDEX {name} ON", 1)
            definition = definition.replace(f'INDEX "{old_name}" ON', f"INDEX {name} ON", 1)
            definition = definition.replace(f"public.{OLD} ", f"public.{TABLE} ", 1)
            cursor.execute(definition)
        cursor.execute(f"DROP TABLE {OLD}")  # the foreign keys to a message have no constraint
        for name, definition in foreign:
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), "
            f"coalesce((SELECT max(id) FROM {TABLE}), 0) + 1, false)"
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    forget()
    return made
