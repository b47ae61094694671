"""Helpers of the batched statements (messaging/lifecycle.py): the same SQL text on SQLite
and PostgreSQL, values bound the fast way for each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection

# SQLite binds at most 32,766 parameters per statement: stay well under it.
SQLITE_ROWS_PER_STATEMENT = 1000
IDS_PER_STATEMENT = 900  # ids in one `IN (...)` on SQLite

Cursor = Any  # a Django cursor wrapper (untyped in Django's stubs)


def db_time(value: datetime) -> Any:
    """Raw SQL must store datetimes exactly as the ORM does (text in SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)


def is_pg() -> bool:
    return connection.vendor == "postgresql"


def pg_bound(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    """PostgreSQL: run one of the statements of every batch with its values bound on the
    server (Django interpolates them into the SQL text: for 500-element arrays, quoting
    and parsing that text cost more than the update itself; bench/RESULTS.md)."""
    import psycopg

    with psycopg.Cursor(connection.connection) as cursor:
        # Arrays (`%s::type[]`) travel in binary: quicker to dump than their text form.
        # Prepared (once per connection, a handful of texts): PostgreSQL then keeps its plan
        # instead of planning each batch again against every month of the partitioned
        # message table (10 ms a statement at 17 months; the rows read are pruned at run
        # time: messaging/partitions.py).
        cursor.execute(sql.replace("%s::", "%b::"), params, prepare=True)
        return cursor.fetchall() if cursor.description else []


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def update_from_values(
    cursor: Cursor,
    rows: Sequence[tuple[Any, ...]],
    *,
    table: str,
    columns: Sequence[tuple[str, str]],
    set_sql: str,
    set_params: Sequence[object],
    where_sql: str,
    returning: str = "",
) -> list[tuple[Any, ...]]:
    """Update `table` (as `m`) from many rows of values in one statement.

    The statement sees the rows as a table `v` whose `columns` are (name, PostgreSQL type).
    One statement instead of one per row: on PostgreSQL each row would cost a round trip,
    which made the worker 1.7 times slower there (bench/RESULTS.md). SQLite needs 3.33 or
    newer for UPDATE ... FROM (Debian 12 ships 3.40). Returns the RETURNING rows, or one
    empty tuple per row changed when there is no `returning`.
    """
    if not rows:
        return []
    names = ", ".join(name for name, _type in columns)
    update = f"UPDATE {table} AS m SET {set_sql} FROM v WHERE {where_sql}"
    tail = f" RETURNING {returning}" if returning else ""
    if is_pg():
        arrays = ", ".join(f"%s::{type_}[]" for _name, type_ in columns)
        cursor.execute(
            f"WITH v({names}) AS (SELECT * FROM unnest({arrays})) {update}{tail}",
            [*map(list, zip(*rows, strict=True)), *set_params],
        )
        return cursor.fetchall() if returning else [()] * cursor.rowcount
    found: list[tuple[Any, ...]] = []
    # Python's sqlite3 gives no rowcount (-1) for a statement that starts with WITH.
    tail = tail or " RETURNING 1"
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for chunk in chunks(rows, SQLITE_ROWS_PER_STATEMENT):
        values = ", ".join([placeholders] * len(chunk))
        cursor.execute(
            f"WITH v({names}) AS (VALUES {values}) {update}{tail}",
            [*(value for row in chunk for value in row), *set_params],
        )
        found.extend(cursor.fetchall() if returning else [()] * len(cursor.fetchall()))
    return found
