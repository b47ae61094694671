"""Users see when no worker runs, and the home page only calls a gateway connected when a
running worker drives it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.messaging.models import GatewayState
from smsdesk.worker.models import WorkerProcess
from smsdesk.worker.services import running_workers

BANNER = "L’envoi est arrêté : aucun worker ne tourne"


def worker(seconds_ago: float, gateways: list[str]) -> WorkerProcess:
    at = timezone.now() - timedelta(seconds=seconds_ago)
    return WorkerProcess.objects.create(
        id=f"w{seconds_ago}", hostname="h", pid=1, gateways=gateways, started_at=at, heartbeat_at=at
    )


@pytest.mark.django_db
def test_every_page_warns_when_no_worker_runs(client_bob: Client) -> None:
    assert BANNER in client_bob.get("/").content.decode()
    assert BANNER in client_bob.get("/sms/sent/").content.decode()
    stale = worker(120, ["simulator"])
    assert running_workers() == []
    assert BANNER in client_bob.get("/sms/new/").content.decode()
    fresh = worker(5, ["simulator"])
    assert running_workers() == [fresh] and stale not in running_workers()
    assert BANNER not in client_bob.get("/sms/new/").content.decode()


@pytest.mark.django_db
def test_a_gateway_is_connected_only_while_a_worker_drives_it(client_bob: Client) -> None:
    GatewayState.objects.create(name="simulator", kind="simulator", connected=True)
    worker(120, ["simulator"])  # its worker stopped answering
    assert "non connectée" in client_bob.get("/").content.decode()
    worker(5, ["simulator"])
    html = client_bob.get("/").content.decode()
    assert "non connectée" not in html and "connectée" in html


@pytest.mark.django_db
def test_the_menu_counts_unread_sms(client_bob: Client) -> None:
    from smsdesk.messaging import receiving

    assert 'id="menu-badge-envelope"' not in client_bob.get("/").content.decode()
    for text in ("un", "deux"):
        receiving.receive_inbound(
            gateway="simulator", sender="+33698765432", text=text, received_at=timezone.now()
        )
    html = client_bob.get("/sms/sent/").content.decode()
    assert 'id="menu-badge-envelope">2</span>' in html


@pytest.mark.django_db
def test_a_heartbeat_keeps_the_start_time() -> None:
    from smsdesk.gateways.simulator import SimulatorGateway
    from smsdesk.worker.loop import Worker

    running = Worker([SimulatorGateway()])
    running.tend_leases()  # the heartbeat, with the lines it took
    first = WorkerProcess.objects.get(id=running.id)
    running.tend_leases()
    again = WorkerProcess.objects.get(id=running.id)
    assert again.started_at == first.started_at and again.heartbeat_at > first.heartbeat_at
    assert again.gateways == ["simulator"] and again.eligible == ["simulator"]
