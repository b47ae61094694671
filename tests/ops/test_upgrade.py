"""An older worker never writes on after a newer smsdesk migrated the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from smsdesk.worker.models import WorkerProcess
from smsdesk.worker.runtime import EXIT_SCHEMA_NEWER
from tests.ops.processes import environment, run, smsdesk
from tests.worker.helpers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def migrations_as_they_were():  # type: ignore[no-untyped-def]
    """django_migrations is no model's table: a transactional test's flush leaves it as the
    test made it. Put it back for the tests that follow."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app, name, applied FROM django_migrations")
        rows = cursor.fetchall()
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations")
        cursor.executemany(
            "INSERT INTO django_migrations (id, app, name, applied) VALUES (%s, %s, %s, %s)", rows
        )


def a_newer_version_migrates() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('messaging', '9999_from_a_newer_version', %s)",
            [timezone.now()],
        )


def test_a_running_worker_stops_at_its_next_heartbeat(tmp_path: Path) -> None:
    env = environment(tmp_path / "data")
    log = tmp_path / "worker.log"
    worker = smsdesk("worker", env=env, log=log)
    try:
        wait_until(WorkerProcess.objects.exists, 60, "the worker's heartbeat")
        a_newer_version_migrates()
        code = worker.wait(60)  # a heartbeat is 10 s
    finally:
        if worker.poll() is None:
            worker.kill()
    assert code == EXIT_SCHEMA_NEWER, log.read_text()
    said = log.read_text()
    assert "version plus récente de smsdesk (messaging.9999_from_a_newer_version)" in said
    assert "Installez ici la nouvelle version" in said  # French, the default language
    assert not WorkerProcess.objects.exists()  # it left as on SIGTERM


def test_an_old_worker_does_not_start_and_a_new_one_waits_for_migrate(tmp_path: Path) -> None:
    env = environment(tmp_path / "data")
    a_newer_version_migrates()
    done = run("worker", env=env, check=False, timeout=60)
    assert done.returncode == EXIT_SCHEMA_NEWER
    assert "plus récente de smsdesk" in done.stderr and not WorkerProcess.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'messaging'")
    done = run("worker", env=env, check=False, timeout=60)
    assert done.returncode == 1 and "lancez d’abord `smsdesk migrate`" in done.stderr
