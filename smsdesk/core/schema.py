"""Is the database's schema the one this code was written for?

`pending`: migrations this code has that the database lacks (run `smsdesk migrate`).
`newer`: migrations the database has that this code does not know: a newer smsdesk migrated
it. A process of the older version must then stop writing (the worker checks at its start
and at each heartbeat, README "Upgrades"): a column it does not know may carry a meaning it
would break, such as a state it would overwrite.

One query on `django_migrations`; the code's own list is read from disk once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

Migration = tuple[str, str]  # (app label, name)


@dataclass(frozen=True)
class SchemaStatus:
    pending: tuple[Migration, ...]
    newer: tuple[Migration, ...]

    @property
    def current(self) -> bool:
        return not self.pending and not self.newer


@cache
def code_migrations() -> frozenset[Migration]:
    """Every migration the installed code ships (ours and Django's apps')."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.disk_migrations)


def status() -> SchemaStatus:
    known = code_migrations()
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return SchemaStatus(pending=tuple(sorted(known)), newer=())
    applied = set(recorder.migration_qs.values_list("app", "name"))
    # An app this code no longer has (or never had) is not ours to judge.
    apps = {app for app, _name in known}
    return SchemaStatus(
        pending=tuple(sorted(known - applied)),
        newer=tuple(sorted(m for m in applied - known if m[0] in apps)),
    )


def describe(migrations: tuple[Migration, ...], limit: int = 5) -> str:
    names = [f"{app}.{name}" for app, name in migrations[:limit]]
    more = len(migrations) - limit
    return ", ".join(names) + (f" (+{more})" if more > 0 else "")
