"""The audit log cannot be changed: the database's own triggers refuse UPDATE and DELETE,
through the ORM and through raw SQL, on SQLite and on PostgreSQL (the suite runs on both);
the retention purge is the one DELETE let through, inside its own transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from smsdesk.audit import services as audit
from smsdesk.audit.models import Action, Entry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def entry() -> Entry:
    return audit.record(Action.SETTINGS, ("thing", "1"), after={"x": 1}, label="first")


def _refused(action) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        action()


def test_the_orm_cannot_update_or_delete(entry: Entry) -> None:
    _refused(lambda: Entry.objects.filter(id=entry.id).update(target="changed"))
    entry.target = "changed"
    _refused(lambda: entry.save())
    _refused(lambda: Entry.objects.filter(id=entry.id).delete())
    _refused(lambda: Entry.objects.all().delete())
    entry.refresh_from_db()
    assert entry.target == "first"
    assert Entry.objects.count() == 1


def test_raw_sql_cannot_update_or_delete(entry: Entry) -> None:
    def run(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    _refused(lambda: run("UPDATE audit_entry SET actor_name = 'mallory'"))
    _refused(lambda: run("UPDATE audit_entry SET at = at"))
    _refused(lambda: run("DELETE FROM audit_entry"))
    _refused(lambda: run("DELETE FROM audit_entry WHERE id = (SELECT MIN(id) FROM audit_entry)"))
    assert Entry.objects.filter(id=entry.id, actor_name="").count() == 1


def test_the_triggers_are_in_the_database() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            names = {r[0] for r in cursor.fetchall()}
            assert {"audit_entry_no_update", "audit_entry_no_delete"} <= names
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_entry'::regclass")
            assert "audit_entry_append_only" in {r[0] for r in cursor.fetchall()}


def test_inserting_still_works_and_the_purge_deletes_only_what_is_older(entry: Entry) -> None:
    old = audit.record(Action.SETTINGS, ("thing", "2"), label="old")
    # an entry dated in the past (inserted so: no entry's date can be changed)
    past = Entry.objects.create(at=timezone.now() - timedelta(days=400), action=Action.SETTINGS)
    assert audit.purge(before=timezone.now() - timedelta(days=365)) == 1
    assert set(Entry.objects.values_list("id", flat=True)) == {entry.id, old.id}
    assert not Entry.objects.filter(id=past.id).exists()
    # and the lock is closed again after the purge
    _refused(lambda: Entry.objects.filter(id=entry.id).delete())
