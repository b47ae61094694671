from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

# The audit log refuses DELETE (a trigger, audit/migrations/0001_initial.py) unless a row of
# audit_unlock exists: the database flush that ends each transactional test on SQLite (one
# DELETE per table; PostgreSQL's TRUNCATE fires no row trigger) opens it as the retention
# purge does, and closes it after.
from django.db.backends.sqlite3.base import DatabaseOperations as _SQLiteOperations
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User

_sql_flush = _SQLiteOperations.sql_flush


def _flush_with_the_audit_log(self, style, tables, **kwargs):  # type: ignore[no-untyped-def]
    tables = [t for t in tables if t != "audit_unlock"]
    statements = _sql_flush(self, style, tables, **kwargs)
    if "audit_entry" not in tables:
        return statements
    return ["INSERT INTO audit_unlock DEFAULT VALUES", *statements, "DELETE FROM audit_unlock"]


_SQLiteOperations.sql_flush = _flush_with_the_audit_log  # type: ignore[method-assign]


@pytest.fixture
def admin_user(db) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user("alice", password="correct horse 42", role=User.Role.ADMIN)


@pytest.fixture
def operator(db) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user("bob", password="correct horse 42")


@pytest.fixture
def client_bob(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def in_a_month() -> datetime:
    """A sending time well inside the bound (SMSDESK_MAX_SCHEDULE_DAYS), local time."""
    return timezone.localtime() + timedelta(days=30)


@pytest.fixture(autouse=True)
def no_upload_left_behind() -> Iterator[None]:
    # Uploaded files wait in the data directory, outside the database the test rolls back,
    # and each user may keep only a few (directory/uploads.py): each test starts with none.
    yield
    shutil.rmtree(Path(settings.DATA_DIR) / "imports", ignore_errors=True)


DB_FIXTURES = ("db", "transactional_db", "django_db_reset_sequences", "live_server")


@pytest.fixture(autouse=True)
def every_waiting_message_has_its_queue_row(request):  # type: ignore[no-untyped-def]
    """A test that leaves a claimable (queued, scheduled) outbound message without its row in
    the worker's queue fails: a status was written outside messaging/lifecycle.py, and the
    worker would never send that message."""
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in DB_FIXTURES
    )
    if uses_db:
        request.getfixturevalue("_django_db_helper")  # torn down after this fixture
    yield
    if not uses_db:
        return
    from smsdesk.messaging import lifecycle

    strays = lifecycle.waiting_without_queue_row()
    if strays:
        pytest.fail(
            f"claimable messages without a queue row (written outside lifecycle.py): {strays}"
        )


@pytest.fixture(autouse=True)
def no_settled_retention_remembered() -> Iterator[None]:
    """Which organisations had nothing left to purge is remembered an hour by the worker's
    process (retention.step): never from one test to the next."""
    from smsdesk.retention import services as retention

    retention.forget_settled()
    yield
    retention.forget_settled()


@pytest.fixture(autouse=True)
def no_held_lines_remembered() -> Iterator[None]:
    """Which lines are held (a suspended organisation's) is remembered a moment by the
    worker: never from one test to the next."""
    from smsdesk.messaging import lines

    lines.forget_held()
    yield
    lines.forget_held()
