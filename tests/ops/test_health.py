"""/healthz and /readyz: no login, no data, and each reason for not being ready."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from smsdesk.worker import leases
from smsdesk.worker.models import WorkerProcess


def ready() -> tuple[int, dict]:  # type: ignore[type-arg]
    response = Client().get("/readyz")
    return response.status_code, json.loads(response.content)


def a_worker(seconds_ago: float = 0) -> None:
    at = timezone.now() - timezone.timedelta(seconds=seconds_ago)
    WorkerProcess.objects.create(
        id="w1", hostname="host-a", pid=1, gateways=["simulator"], started_at=at, heartbeat_at=at
    )
    # and it holds the simulator's lease (worker/leases.py)
    leases.take(
        "simulator", leases.Holder("w1", "host-a", 1), now=leases.database_now(), seconds=60
    )


def test_healthz_answers_without_the_database_or_a_login() -> None:
    # no django_db mark: any query here would raise
    response = Client().get("/healthz", HTTP_HOST="10.1.2.3:8000")  # not an allowed host
    assert response.status_code == 200 and response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_wants_a_worker_heartbeat() -> None:
    assert ready() == (
        503,
        {
            "ready": False,
            "checks": {
                "database": "ok",
                "migrations": "ok",
                "worker": "no heartbeat",
                "lines": "not driven",
            },
        },
    )
    a_worker(seconds_ago=5)
    assert ready() == (
        200,
        {
            "ready": True,
            "checks": {"database": "ok", "migrations": "ok", "worker": "ok", "lines": "ok"},
        },
    )


@pytest.mark.django_db
def test_readyz_says_when_a_line_has_no_driver(settings) -> None:  # type: ignore[no-untyped-def]
    """The simulator's worker holds its lease; the modem's host is down: ready all the
    same (the web works), but it says so."""
    settings.SMSDESK_GATEWAYS = ["simulator", "modem-garage=simulator"]
    a_worker(seconds_ago=5)
    now = leases.database_now()
    assert ready() == (
        200,
        {
            "ready": True,
            "checks": {
                "database": "ok",
                "migrations": "ok",
                "worker": "ok",
                "lines": "not driven",
            },
        },
    )
    leases.take("modem-garage", leases.Holder("w1", "host-a", 1), now=now, seconds=30)
    assert ready()[1]["checks"]["lines"] == "ok"
    # A lease held by a worker that fell silent drives nothing.
    WorkerProcess.objects.update(heartbeat_at=timezone.now() - timezone.timedelta(minutes=5))
    assert ready()[1]["checks"]["lines"] == "not driven"


@pytest.mark.django_db
def test_a_silent_worker_is_not_enough() -> None:
    a_worker(seconds_ago=120)
    assert ready()[1]["checks"]["worker"] == "no heartbeat"


@pytest.mark.django_db
def test_readyz_knows_a_missing_migration_and_a_newer_schema() -> None:
    a_worker()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'messaging' AND name LIKE '0010%%'"
        )
    status, body = ready()
    assert status == 503 and body["checks"]["migrations"] == "pending"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES "
            "('messaging', '0010_daily_counts', %s), ('messaging', '9999_future', %s)",
            [timezone.now(), timezone.now()],
        )
    status, body = ready()
    # a newer version migrated: this one still serves until it is restarted
    assert status == 200 and body["checks"]["migrations"] == "newer"


@pytest.mark.django_db
def test_health_endpoints_refuse_other_methods_and_show_no_page() -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz/").status_code == 405
    body = Client().get("/readyz").content.decode()
    assert "<html" not in body and "simulator" not in body
