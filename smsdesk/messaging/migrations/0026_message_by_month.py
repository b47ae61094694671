"""PostgreSQL: the message table rebuilt as partitioned by month of created_at (issue 23).

The table is renamed, a partitioned one made like it (columns, defaults, identity, CHECKs),
its primary key (id, created_at), a DEFAULT partition and one partition per month from the
oldest row's to AHEAD months after this one; the rows copied, then the indexes and foreign
keys of the old table made again on the new one under the same names (Meta.indexes, the
words' GIN index, Django's indexes of the foreign keys), the identity continued after the
last id. The foreign keys to a message lost their constraint in the migrations before
(messaging 0025, notify 0003, calls 0005). Reversed, the same steps make one table again.
SQLite: nothing (one table).

Time: about 11 s a million messages (bench/RESULTS.md); the table is locked meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import migrations

from smsdesk.messaging import partitions

TABLE = partitions.TABLE
OLD = f"{TABLE}_old"


def _indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
        [table],
    )
    return list(cursor.fetchall())


def _foreign_keys(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    return list(cursor.fetchall())


def _rebuild(cursor, *, by_month: bool) -> None:
    cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
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
        cursor.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"SELECT min(created_at) FROM {OLD}")
        oldest = cursor.fetchone()[0] or datetime.now(UTC)
        month = partitions.month_start(oldest)
        last = partitions.month_start(datetime.now(UTC))
        for _ in range(partitions.AHEAD):
            last = partitions.next_month(last)
        while month <= last:
            partitions.create_month(cursor, month)
            month = partitions.next_month(month)
    else:
        cursor.execute(like)
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
    cursor.execute(f"INSERT INTO {TABLE} OVERRIDING SYSTEM VALUE SELECT * FROM {OLD}")  # noqa: S608
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
        f"coalesce((SELECT max(id) FROM {TABLE}), 0) + 1, false)"  # noqa: S608
    )
    cursor.execute(f"ANALYZE {TABLE}")
    partitions.forget()


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _rebuild(cursor, by_month=True)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _rebuild(cursor, by_month=False)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("messaging", "0025_unread_entry_no_constraint"),
        ("notify", "0003_copy_message_no_constraint"),
        ("calls", "0005_reply_no_constraint"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
