"""Inserting many rows that differ in a few columns, without the ORM's cost per field.

`bulk_create` prepares every field of every object in Python: for a send to 100,000 numbers
that was ~25 s of the ~35 s `create_campaign` took (bench/directory.py, cProfile), the
database itself doing a small part. Here the constant columns are prepared once, from a
template instance (so a field added to the model later, with its default, is written too),
and only the varying columns change per row: `executemany` in chunks on SQLite, COPY on
PostgreSQL (through a temporary table when existing rows are to be updated).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

CHUNK = 20_000


def _field(model: type[models.Model], name: str) -> models.Field:
    """`model`'s field `name`, one of its own (not a reverse relation or a generic key)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


def _column(model: type[models.Model], name: str) -> str:
    column = _field(model, name).column
    if column is None:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return column


# Up to this many rows, PostgreSQL gets one plain INSERT … VALUES: COPY costs a statement
# more (the constant columns' text) and, with ON CONFLICT, a temporary table created and
# dropped (4 statements for a single-message send's conversation: issue 19's profile).
SMALL = 20


def insert_rows(
    model: type[models.Model],
    template: models.Model,
    varying: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]] | None:
    """Insert `rows` into `model`'s table: each column as in `template`, except the `varying`
    fields, whose values each row gives in that order, as text (a JSON field's as its JSON
    text). With `conflict`, a row whose unique `conflict` fields exist already updates the
    `update` fields instead.

    `returning` (fields): for at most SMALL rows, the inserted rows' values of those fields,
    in no particular order (name a unique field to tell them apart); None for more rows
    (COPY returns nothing: read them back)."""
    if not rows:
        return [] if returning else None
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.auto_created)]
    fields = [f for f in fields if not isinstance(f, models.AutoField)]
    varying_fields = [_field(model, name) for name in varying]
    constant = [f for f in fields if f not in varying_fields]
    values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in constant]
    columns = ", ".join(quote(f.column) for f in [*constant, *varying_fields])
    suffix = ""
    if conflict:
        targets = ", ".join(quote(_column(model, n)) for n in conflict)
        sets = ", ".join(
            f"{quote(_column(model, n))} = excluded.{quote(_column(model, n))}" for n in update
        )
        suffix = f" ON CONFLICT ({targets}) DO UPDATE SET {sets}"
    table = quote(meta.db_table)
    small = len(rows) <= SMALL
    with connection.cursor() as cursor:
        if small and (returning or connection.vendor == "postgresql"):
            # one statement; the varying values (text) cast to their columns' types
            if connection.vendor == "postgresql":
                cast = [f"CAST(%s AS {f.db_type(connection)})" for f in varying_fields]
            else:
                cast = ["%s"] * len(varying_fields)
            one = "(" + ", ".join(["%s"] * len(constant) + cast) + ")"
            back = ""
            if returning:
                back = " RETURNING " + ", ".join(quote(_column(model, n)) for n in returning)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                f"{', '.join([one] * len(rows))}{suffix}{back}",
                [v for row in rows for v in (*values, *row)],
            )
            return cursor.fetchall() if returning else None
        if connection.vendor == "postgresql":
            _copy_rows(cursor, table, constant, values, varying_fields, rows, suffix, connection)
        else:
            marks = ", ".join(["%s"] * (len(constant) + len(varying_fields)))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}){suffix}"  # noqa: S608
            for start in range(0, len(rows), CHUNK):
                cursor.executemany(sql, [(*values, *row) for row in rows[start : start + CHUNK]])
    return None


def insert_one(instance: models.Model) -> None:
    """Save the new `instance` in one `INSERT … RETURNING` of its key, without the ORM's
    query compilation (a campaign and its audit entry on each API send: issue 19's profile).
    Field defaults and `auto_now_add` apply as in `save()`; no signal is sent (none is
    connected to the models that use this)."""
    model = type(instance)
    rows = insert_rows(model, instance, [], [()], returning=[model._meta.pk.name])
    assert rows
    instance.pk = rows[0][0]
    instance._state.adding = False
    instance._state.db = router.db_for_write(model)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_temp_tables = itertools.count()


def _escape(value: str) -> str:
    """A value as COPY's text format writes it (most have nothing to escape)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_rows(
    cursor: CursorWrapper,
    table: str,
    constant: Sequence[models.Field],
    values: Sequence[Any],
    varying_fields: Sequence[models.Field],
    rows: Sequence[Sequence[str]],
    suffix: str,
    connection: BaseDatabaseWrapper,
) -> None:
    """PostgreSQL: the rows go in through COPY (text format, built here with str methods)
    rather than as arrays of parameters, which psycopg dumps element by element in Python
    (1.8 s of a 100,000-row send, bench/RESULTS.md). The constant columns' text is asked of
    the server once (`CAST(%s AS type)::text`), so it is exactly what an INSERT would store.
    With ON CONFLICT (which COPY cannot do) the rows are copied into a temporary table and
    moved by one INSERT ... SELECT."""
    quote = connection.ops.quote_name
    if suffix:
        target = f"smsdesk_rows_{next(_temp_tables)}"
        names = [f"v{i}" for i in range(len(varying_fields))]
        cursor.execute(f"CREATE TEMPORARY TABLE {target} ({', '.join(f'{n} text' for n in names)})")
        copy_into = f"COPY {target} ({', '.join(names)}) FROM STDIN"
        prefix = ""
    else:
        all_columns = ", ".join(quote(f.column) for f in [*constant, *varying_fields])
        copy_into = f"COPY {table} ({all_columns}) FROM STDIN"
        prefix = ""
        if constant:
            casts = ", ".join(
                f"CAST(CAST(%s AS {f.db_type(connection)}) AS text)" for f in constant
            )
            cursor.execute(f"SELECT {casts}", values)
            prefix = "\t".join(r"\N" if v is None else _escape(v) for v in cursor.fetchone())
            prefix += "\t"
    with cursor.cursor.copy(copy_into) as copy:
        for start in range(0, len(rows), CHUNK):
            copy.write(
                "".join(
                    prefix + "\t".join(map(_escape, row)) + "\n"
                    for row in rows[start : start + CHUNK]
                )
            )
    if suffix:
        columns = ", ".join(quote(f.column) for f in [*constant, *varying_fields])
        casts = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in constant)
        typed = ", ".join(
            f"CAST(v{i} AS {f.db_type(connection)})" for i, f in enumerate(varying_fields)
        )
        # Only names from the model's metadata (quoted) go into the text; values are params.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {casts}{', ' if casts else ''}{typed} "  # noqa: S608
            f"FROM {target}{suffix}",
            values,
        )
        cursor.execute(f"DROP TABLE {target}")


def select_among(
    model: type[models.Model],
    key: str,
    keys: Sequence[str],
    columns: Sequence[str],
    *,
    json_keys: Sequence[tuple[str, str]] = (),
    org: Any = None,
) -> Iterator[tuple]:
    """The `columns` (field names) of `model`'s rows whose `key` field is one of `keys`, in
    one query per 50,000 keys: the list goes in as ONE parameter (an array on PostgreSQL,
    a JSON array read by `json_each` on SQLite). An `IN (%s, %s, ...)` of 900 parameters at
    a time (SQLite's old bound) took 112 queries and 1.3-1.7 s for 100,000 numbers on
    PostgreSQL, most of it building the query text (bench/RESULTS.md). A JSON field comes
    back as the database gives it (text, or already decoded). `json_keys`, (JSON field, key)
    pairs, add one column each: that key's value as text (None when absent), read by the
    database rather than every row's JSON decoded in Python. A customer's model
    (core.tenancy.OrgOwned) is read in organisation `org` only, which is then required."""
    from smsdesk.core import tenancy

    scope, scope_params = "", []
    if tenancy.is_org_owned(model):
        if org is None:
            raise tenancy.UnscopedQuery(f"select_among({model._meta.label}) without org")
        scope = "organisation_id = %s AND "
        scope_params = [org if isinstance(org, int) else org.pk]
    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    names = ", ".join(quote(_column(model, c)) for c in columns)
    paths: list[str] = []
    for json_field, json_key in json_keys:
        json_column = quote(_column(model, json_field))
        if connection.vendor == "postgresql":
            names += f", {json_column} ->> %s"
            paths.append(json_key)
        else:
            names += f", json_extract({json_column}, %s)"
            paths.append('$."' + json_key.replace('"', "") + '"')
    table = quote(meta.db_table)
    column = quote(_column(model, key))
    if connection.vendor == "postgresql":
        sql = f"SELECT {names} FROM {table} WHERE {scope}{column} = ANY(%s::text[])"  # noqa: S608
    else:
        sql = (
            f"SELECT {names} FROM {table} WHERE {scope}{column} "  # noqa: S608
            "IN (SELECT value FROM json_each(%s))"
        )
    keys = list(keys)
    with connection.cursor() as cursor:
        for start in range(0, len(keys), SELECT_CHUNK):
            chunk = keys[start : start + SELECT_CHUNK]
            listed = chunk if connection.vendor == "postgresql" else json.dumps(chunk)
            cursor.execute(sql, [*paths, *scope_params, listed])
            yield from cursor.fetchall()


SELECT_CHUNK = 50_000
