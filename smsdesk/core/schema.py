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
from typing import Any

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils.translation import gettext as _

from smsdesk.core.errors import ServiceError

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


class NotMigrated(ServiceError):
    code = "not_migrated"


def require_migrated() -> SchemaStatus:
    """The status, for a process about to serve; refuses a database that lacks migrations
    (every page or send would fail on a missing column)."""
    state = status()
    if state.pending:
        raise NotMigrated(
            _("The database lacks migrations (%(list)s): run `smsdesk migrate` first.")
            % {"list": describe(state.pending)}
        )
    return state


def describe(migrations: tuple[Migration, ...], limit: int = 5) -> str:
    names = [f"{app}.{name}" for app, name in migrations[:limit]]
    more = len(migrations) - limit
    return ", ".join(names) + (f" (+{more})" if more > 0 else "")


# --- which migrations may run while the previous version still serves ---------------------
# docs/production.md "Upgrades": `smsdesk migrate` is safe under a running old version when
# a migration only adds tables, indexes, or columns the old code need not fill (nullable, or
# with a database default). `unsafe_operations` applies that rule; what it flags is either
# listed in NEEDS_STOP (a release holding it says "stop the old version first") or, after
# reading, in REVIEWED_SAFE with the reason. tests/core/test_migration_safety.py fails on a
# new migration in neither list, so that each one is looked at once.
NEEDS_STOP: dict[Migration, str] = {
    ("accounts", "0002_user_notifications"): "NOT NULL columns the old code does not fill",
    ("directory", "0002_contact_fields"): "NOT NULL columns, and a data change",
    ("directory", "0005_search_names"): "the folded names, back-filled, are not kept by the old "
    "code (its new contacts would not be found by a search)",
    ("messaging", "0002_optout_keyword_notice_commercial"): "NOT NULL columns",
    ("messaging", "0004_gateway_state_parts_queue"): "a renamed table, NOT NULL columns, "
    "and the queue back-filled, which the old code does not keep",
    ("messaging", "0006_campaign_tag"): "a NOT NULL column",
    ("messaging", "0007_gateway_state_extra"): "a NOT NULL column",
    ("messaging", "0009_unread_entry_message_words"): "the Unread entries, back-filled, are "
    "not kept by the old code",
    ("messaging", "0010_daily_counts"): "the counters, back-filled, are not kept by the old code",
    ("messaging", "0012_campaign_counts"): "the campaigns' counts, back-filled, are not kept by "
    "the old code (its sends and status changes would leave them behind)",
    ("accounts", "0006_organisations"): "organisations: NOT NULL columns the old code does not "
    "fill (a token's organisation), every row back-filled into the default organisation",
    ("calls", "0004_organisation"): "a NOT NULL organisation the old code does not fill",
    ("directory", "0006_organisation"): "a NOT NULL organisation the old code does not fill",
    ("messaging", "0015_organisation"): "a NOT NULL organisation the old code does not fill",
    ("optout", "0005_organisation"): "a NOT NULL organisation the old code does not fill",
    ("webhooks", "0002_organisation"): "a NOT NULL organisation the old code does not fill",
    ("messaging", "0013_counts_per_tag_user"): "the counters are counted again per "
    "tag and user, with their SMS parts, which the old code does not write",
    ("worker", "0002_gateway_store"): "removes a table the old simulator uses",
}
REVIEWED_SAFE: dict[Migration, str] = {
    ("webhooks", "0003_campaign_finished"): "its AlterField only adds a choice (no SQL)",
    ("audit", "0001_initial"): "new tables only, and the triggers on one of them (the old "
    "version never reads or writes them)",
    ("webhooks", "0001_initial"): "new tables only, which the old version never reads",
    ("messaging", "0008_keyset_indexes"): "its AlterField only drops an index",
    ("messaging", "0014_recurrence_autoreply"): "new tables only; its AddConstraint is on one "
    "of them (the old code never reads them)",
    ("messaging", "0017_routing"): "columns with database defaults and a new table; its "
    "RunSQL fills the new Conversation.line only (the old code neither reads nor clears it: "
    "a reply may leave by the line a correspondent used before the upgrade)",
    ("messaging", "0021_message_flash"): "a column with a database default (the old code's "
    "inserts get False); its RunPython only makes SQLite's word triggers again after the "
    "table is rebuilt",
    ("optout", "0002_optout_history"): "its AlterField only changes choices (no SQL)",
    ("optout", "0003_keyset_indexes"): "its AlterField only drops an index",
    ("accounts", "0016_shared_lines"): "a column with a database default (the old code's "
    'inserts get ""), the line\'s unique index replaced by (line, organisation): the old '
    "code's one row per line stays valid; only shared lines, made by the new code, have two",
    ("messaging", "0025_unread_entry_no_constraint"): "drops a foreign key's constraint only "
    "(the old code's writes are all valid without it)",
    ("calls", "0005_reply_no_constraint"): "drops a foreign key's constraint only",
    ("notify", "0003_copy_message_no_constraint"): "drops a foreign key's constraint only",
    ("messaging", "0027_outbox_created_at"): "a nullable column; a queue row the old code "
    "writes without it makes the new claim read every month of messages (correct, slower)",
    ("messaging", "0023_user_quota"): "its AlterField only widens QuotaUse.period (11 to 32 "
    "characters: the users' own quota periods); the old code writes the short periods only",
}


def unsafe_operations(migration: Any) -> list[str]:
    """What in a migration may break the previous version while it still runs."""
    from django.db import migrations
    from django.db.models import NOT_PROVIDED

    harmless = (
        migrations.CreateModel,
        migrations.AddIndex,
        migrations.RemoveIndex,
        migrations.RenameIndex,
        migrations.AlterModelOptions,
    )
    found = []
    for op in migration.operations:
        if isinstance(op, harmless):
            continue
        if isinstance(op, migrations.AddField):
            field = op.field
            if field.null or field.many_to_many or field.db_default is not NOT_PROVIDED:
                continue
            found.append(f"NOT NULL {op.model_name}.{op.name}")
        else:
            found.append(type(op).__name__)
    return found
