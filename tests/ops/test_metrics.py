"""/metrics: behind its token or allow-list, every name smsdesk_, figures from the counters."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from smsdesk.gateways.base import Health
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import sending, stats
from smsdesk.messaging.models import OutboxEntry
from tests.worker.helpers import drain, runner_for

TOKEN = "s3cret-scraper-token"


def scrape(client: Client | None = None, **headers: str) -> dict[str, dict]:  # type: ignore[type-arg]
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    figures: dict[str, dict] = {}  # type: ignore[type-arg]
    for family in text_string_to_metric_families(response.content.decode()):
        values = figures.setdefault(family.name, {("__type__",): family.type})
        for s in family.samples:
            if s.name in (family.name, f"{family.name}_total"):
                values[tuple(sorted(s.labels.items()))] = s.value
    return figures


def sample(families: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return families[name][tuple(sorted(labels.items()))]


@pytest.mark.django_db
@override_settings(SMSDESK_METRICS_TOKEN="", SMSDESK_METRICS_ALLOW=[])
def test_metrics_are_off_until_a_token_or_an_address_is_set() -> None:
    response = Client().get("/metrics")  # from 127.0.0.1: loopback is not trusted for this
    assert response.status_code == 403 and b"SMSDESK_METRICS_TOKEN" in response.content


@pytest.mark.django_db
@override_settings(SMSDESK_METRICS_TOKEN=TOKEN, SMSDESK_METRICS_ALLOW=[])
def test_a_missing_or_wrong_token_is_refused_even_from_loopback() -> None:
    for header in ("", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN):
        response = Client().get("/metrics", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == "Bearer"
        assert b"smsdesk_" not in response.content
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
@override_settings(
    SMSDESK_METRICS_TOKEN=TOKEN, SMSDESK_METRICS_ALLOW=[ipaddress.ip_network("10.9.0.0/16")]
)
def test_the_allow_list_lets_a_scraper_in_without_the_token() -> None:
    assert Client(REMOTE_ADDR="10.9.3.4").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.8.3.4").get("/metrics").status_code == 401


@pytest.mark.django_db(transaction=True)
@override_settings(SMSDESK_METRICS_TOKEN=TOKEN)
def test_the_figures_follow_a_send_from_the_counters(client_bob: Client) -> None:
    sending.create_campaign(author=None, body="Bonjour", to=["0612345678", "0612345679"])
    before = scrape()
    assert sample(before, "smsdesk_queue_depth", line="simulator") == 2
    assert before["smsdesk_messages"][("__type__",)] == "counter"

    drain(runner_for(SimulatorGateway(delivery_delay=0), worker_id="w"))
    assert not OutboxEntry.objects.exists()
    client_bob.get("/sms/sent/")
    after = scrape()
    assert sample(after, "smsdesk_queue_depth", line="simulator") == 0
    totals = stats.totals()
    assert sample(after, "smsdesk_messages", line="simulator", event="sent") == 2
    assert totals[("simulator", "sent")] == 2  # the same source
    assert sample(after, "smsdesk_messages", line="simulator", event="delivered") == 2
    for q in ("0.5", "0.9", "0.99"):
        assert sample(after, "smsdesk_send_latency_seconds", line="simulator", quantile=q) >= 0
        assert sample(after, "smsdesk_report_delay_seconds", line="simulator", quantile=q) >= 0
    assert (
        sample(after, "smsdesk_http_requests", method="GET", status="2xx", view="messaging:sent")
        >= 1
    )
    assert sample(after, "smsdesk_schema_pending_migrations") == 0
    assert all(name.startswith("smsdesk_") for name in after)


@pytest.mark.django_db
@override_settings(SMSDESK_METRICS_TOKEN=TOKEN)
def test_gateway_up_follows_a_running_worker() -> None:
    from django.utils import timezone

    from smsdesk.messaging import gateway_state
    from smsdesk.worker.models import WorkerProcess

    gateway_state.register_all([("orange", "modem")])
    gateway_state.mark_up("orange")
    gateway_state.record_health(Health(gateway="orange", connected=True, signal_percent=71))
    assert sample(scrape(), "smsdesk_gateway_up", kind="modem", line="orange") == 0  # no worker
    now = timezone.now()
    WorkerProcess.objects.create(
        id="w", hostname="pi", pid=1, gateways=["orange"], started_at=now, heartbeat_at=now
    )
    families = scrape()
    assert sample(families, "smsdesk_gateway_up", kind="modem", line="orange") == 1
    assert sample(families, "smsdesk_gateway_signal_percent", line="orange") == 71
    assert sample(families, "smsdesk_workers", host="pi") == 1
    assert sample(families, "smsdesk_worker_up", host="pi") == 1
    WorkerProcess.objects.filter(id="w").update(heartbeat_at=now - timedelta(minutes=3))
    assert sample(scrape(), "smsdesk_worker_up", host="pi") == 0  # fell silent: an alert


@pytest.mark.django_db(transaction=True)
def test_the_line_a_worker_drives_is_named_with_its_host(settings) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.worker.loop import Worker

    settings.SMSDESK_HOST = "pi-garage"
    settings.SMSDESK_METRICS_TOKEN = TOKEN
    worker = Worker([SimulatorGateway(name="orange")])
    worker.tend_leases()
    families = scrape()
    assert sample(families, "smsdesk_line_driven", line="orange", host="pi-garage") == 1
    assert sample(families, "smsdesk_worker_up", host="pi-garage") == 1
    worker.join(grace=0)  # stops: its lease is given back, its row gone
    assert ("smsdesk_line_driven" not in scrape()) or not any(
        k != ("__type__",) for k in scrape()["smsdesk_line_driven"]
    )


@pytest.mark.django_db(transaction=True)
@override_settings(SMSDESK_METRICS_TOKEN=TOKEN)
def test_the_grafana_dashboard_asks_only_for_metrics_that_exist(client_bob: Client) -> None:
    import json
    import re
    from pathlib import Path

    from django.utils import timezone

    from smsdesk.messaging import gateway_state
    from smsdesk.worker.models import WorkerProcess

    sending.create_campaign(author=None, body="Bonjour", to=["0612345678"])
    drain(runner_for(SimulatorGateway(delivery_delay=0), worker_id="w"))
    gateway_state.record_health(Health(gateway="simulator", connected=True, signal_percent=50))
    now = timezone.now()
    WorkerProcess.objects.create(id="w", hostname="h", pid=1, started_at=now, heartbeat_at=now)
    client_bob.get("/sms/sent/")
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    exposed = {name for name in re.findall(r"^(smsdesk_\w+)", response, re.M)}
    dashboard = json.loads((Path(__file__).parents[2] / "docs/grafana-dashboard.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"smsdesk_\w+", target["expr"])
    }
    assert asked and asked <= exposed, asked - exposed
