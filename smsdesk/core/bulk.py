"""Inserting many rows that differ in a few columns, without the ORM's cost per field.

`bulk_create` prepares every field of every object in Python: for a send to 100,000 numbers
that was ~25 s of the ~35 s `create_campaign` took (bench/directory.py, cProfile), the
database itself doing a small part. Here the constant columns are prepared once, from a
template instance (so a field added to the model later, with its default, is written too),
and only the varying columns change per row: `executemany` in chunks on SQLite, one
`INSERT ... SELECT ... FROM unnest(arrays)` per chunk on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router

CHUNK = 20_000


def insert_rows(
    model: type[models.Model],
    template: models.Model,
    varying: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> None:
    """Insert `rows` into `model`'s table: each column as in `template`, except the `varying`
    fields, whose values each row gives in that order, as text (a JSON field's as its JSON
    text). With `conflict`, a row whose unique `conflict` fields exist already updates the
    `update` fields instead."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.auto_created)]
    fields = [f for f in fields if not isinstance(f, models.AutoField)]
    varying_fields = [meta.get_field(name) for name in varying]
    constant = [f for f in fields if f not in varying_fields]
    values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in constant]
    columns = ", ".join(quote(f.column) for f in [*constant, *varying_fields])
    suffix = ""
    if conflict:
        targets = ", ".join(quote(meta.get_field(n).column) for n in conflict)
        sets = ", ".join(
            f"{quote(meta.get_field(n).column)} = excluded.{quote(meta.get_field(n).column)}"
            for n in update
        )
        suffix = f" ON CONFLICT ({targets}) DO UPDATE SET {sets}"
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            casts = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in constant)
            arrays = ", ".join("%s::text[]" for _f in varying_fields)
            names = ", ".join(f"v{i}" for i in range(len(varying_fields)))
            typed = ", ".join(
                f"CAST(v{i} AS {f.db_type(connection)})" for i, f in enumerate(varying_fields)
            )
            # Only names from the model's metadata (quoted) go into the text; values are params.
            sql = (
                f"INSERT INTO {table} ({columns}) SELECT {casts}{', ' if casts else ''}{typed} "  # noqa: S608
                f"FROM unnest({arrays}) AS u({names}){suffix}"
            )
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                cursor.execute(
                    sql, [*values, *([row[i] for row in chunk] for i in range(len(varying_fields)))]
                )
        else:
            marks = ", ".join(["%s"] * (len(constant) + len(varying_fields)))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}){suffix}"  # noqa: S608
            for start in range(0, len(rows), CHUNK):
                cursor.executemany(sql, [(*values, *row) for row in rows[start : start + CHUNK]])
