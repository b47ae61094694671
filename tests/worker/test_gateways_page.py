"""The Passerelles page: administrators only, each gateway's state, a test send through it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.gateways.base import Health
from smsdesk.messaging import gateway_state, sending
from smsdesk.messaging.models import Message
from smsdesk.worker.models import WorkerProcess

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def two_modems(settings):  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["modem-1=simulator", "modem-2=simulator"]
    gateway_state.register_all([("modem-1", "modem"), ("modem-2", "modem")])
    now = timezone.now()
    WorkerProcess.objects.create(
        id="w1",
        hostname="h",
        pid=1,
        gateways=["modem-1", "modem-2"],
        started_at=now,
        heartbeat_at=now,
    )
    gateway_state.record_health(
        Health(
            "modem-1",
            True,
            "connected",
            signal_percent=74,
            operator="Orange F",
            extra={"model": "SIM7600E", "imei": "866758041234567", "x" * 50: "y" * 500},
        )
    )
    gateway_state.mark_up("modem-1")
    gateway_state.mark_down("modem-2", reason="wrong PIN", since=now, retrying=False)


def test_an_operator_gets_403_and_no_menu_entry(client_bob: Client, two_modems) -> None:  # type: ignore[no-untyped-def]
    assert client_bob.get(reverse("worker:gateways")).status_code == 403
    assert client_bob.get(reverse("worker:gateways_panel")).status_code == 403
    response = client_bob.post(
        reverse("worker:test_send"), {"gateway": "modem-1", "number": "0612345678", "text": "x"}
    )
    assert response.status_code == 403
    assert not Message.objects.exists()
    assert reverse("worker:gateways") not in client_bob.get("/").content.decode()


def test_an_admin_sees_each_gateway_state(client_alice: Client, two_modems) -> None:  # type: ignore[no-untyped-def]
    page = client_alice.get(reverse("worker:gateways")).content.decode()
    assert reverse("worker:gateways") in client_alice.get("/").content.decode()  # menu
    assert "Passerelles" in page
    assert "74 %" in page and "Orange F" in page and "866758041234567" in page
    assert "SIM7600E" in page
    assert "y" * 101 not in page  # the device's words are bounded
    assert "depuis" in page  # modem-2 down since...
    panel = client_alice.get(reverse("worker:gateways_panel")).content.decode()
    assert 'hx-trigger="every 10s"' in panel and "74 %" in panel


def test_sent_today_and_the_queue_are_counted_per_gateway(client_alice: Client, two_modems) -> None:  # type: ignore[no-untyped-def]
    sending.create_campaign(
        author=None, body="x", to=["+33611111111", "+33622222222"], gateway="modem-2"
    )
    home = client_alice.get("/").content.decode()
    assert "2 en attente" in home and "signal 74" in home
    page = client_alice.get(reverse("worker:gateways")).content.decode()
    assert page.count('<dd class="col-6 col-sm-7">2</dd>') == 1


def test_a_test_send_goes_through_the_chosen_gateway(client_alice: Client, two_modems) -> None:  # type: ignore[no-untyped-def]
    response = client_alice.post(
        reverse("worker:test_send"),
        {"gateway": "modem-2", "number": "06 12 34 56 78", "text": "Essai"},
        follow=True,
    )
    message = Message.objects.get()
    assert (message.gateway_id, message.peer, message.body) == ("modem-2", "+33612345678", "Essai")
    assert "modem-2" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"gateway": "modem-9", "number": "0612345678", "text": "x"},
        {"gateway": "modem-1", "number": "06 12", "text": "x"},
        {"gateway": "modem-1", "number": "0612345678", "text": ""},
    ],
)
def test_a_bad_test_send_says_why_and_saves_nothing(client_alice: Client, two_modems, data) -> None:  # type: ignore[no-untyped-def]
    response = client_alice.post(reverse("worker:test_send"), data, follow=True)
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()
    assert not Message.objects.exists()


def test_a_double_click_on_test_send_sends_one_sms(client_alice: Client, two_modems) -> None:  # type: ignore[no-untyped-def]
    import re

    from smsdesk.core import once

    page = client_alice.get(reverse("worker:gateways")).content.decode()
    key = re.search(rf'name="{once.FIELD}" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = {"gateway": "modem-1", "number": "0612345678", "text": "Essai", once.FIELD: key}
    for _ in range(2):
        client_alice.post(reverse("worker:test_send"), data)
    assert Message.objects.count() == 1
