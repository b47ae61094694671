"""Administration › Webhooks: list, create (the secret shown once), attempts, send again,
disable, delete; hostile input refused with a message beside the field."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.optout import services as optout
from smsdesk.webhooks import delivery
from smsdesk.webhooks.models import Attempt, Delivery, Endpoint
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_an_administrator_adds_an_endpoint_and_sees_its_secret_once(alice: Client) -> None:
    page = alice.post(
        "/settings/webhooks/new/",
        {"url": "https://93.184.216.34/hook", "events": ["message.status", "call.received"]},
    )
    assert page.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.secret in page.content.decode()
    assert endpoint.events == ["message.status", "call.received"]
    again = alice.get(f"/settings/webhooks/{endpoint.id}/").content.decode()
    assert endpoint.secret not in again
    assert "93.184.216.34" in alice.get("/settings/webhooks/").content.decode()


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("http://127.0.0.1/hook", ["message.status"], "url"),
        ("javascript:alert(1)", ["message.status"], "url"),
        ("https://93.184.216.34/\x00", ["message.status"], "url"),
        ("https://93.184.216.34/", [], "events"),
        ("https://93.184.216.34/", ["message.sent"], "events"),
    ],
)
def test_a_wrong_endpoint_is_refused_beside_its_field(
    alice: Client, url: str, events: list[str], field: str
) -> None:
    page = alice.post("/settings/webhooks/new/", {"url": url, "events": events})
    assert page.status_code == 400
    assert "is-invalid" in page.content.decode() or "text-danger" in page.content.decode()
    assert not Endpoint.objects.exists()


def test_the_tries_are_shown_and_a_delivery_can_be_sent_again(
    alice: Client, admin_user: User, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    with receiver(500) as hook:
        alice.post("/settings/webhooks/new/", {"url": hook.url, "events": ["optout.added"]})
        endpoint = Endpoint.objects.get()
        optout.add_number("0655555555", by=admin_user, reason="asked")
        delivery.run_due()
        page = alice.get(f"/settings/webhooks/{endpoint.id}/").content.decode()
        assert "HTTP 500" in page and "optout.added" in page
        hook.answer = 200
        d = Delivery.objects.get()
        alice.post(f"/settings/webhooks/{endpoint.id}/deliveries/{d.id}/again/")
        delivery.run_due()
    assert [a.status_code for a in Attempt.objects.order_by("at", "id")] == [500, 200]
    assert "HTTP 200" in alice.get(f"/settings/webhooks/{endpoint.id}/").content.decode()


def test_disable_then_delete(alice: Client) -> None:
    alice.post(
        "/settings/webhooks/new/", {"url": "https://93.184.216.34/", "events": ["message.status"]}
    )
    endpoint = Endpoint.objects.get()
    alice.post(f"/settings/webhooks/{endpoint.id}/enabled/", {"enabled": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "alice" in endpoint.disabled_reason
    confirm = alice.get(f"/settings/webhooks/{endpoint.id}/delete/")
    assert confirm.status_code == 200 and Endpoint.objects.exists()
    alice.post(f"/settings/webhooks/{endpoint.id}/delete/")
    assert not Endpoint.objects.exists()


def test_an_operator_gets_403(client_bob: Client) -> None:
    assert client_bob.get("/settings/webhooks/").status_code == 403
    answer = client_bob.post(
        "/settings/webhooks/new/", {"url": "https://93.184.216.34/", "events": ["message.status"]}
    )
    assert answer.status_code == 403 and not Endpoint.objects.exists()
