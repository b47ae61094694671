"""Each event is written once per change, in the change's transaction, and delivered once
with a valid signature to a real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.db import transaction
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.calls import services as calls
from smsdesk.directory.services import Targets
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from smsdesk.optout import services as optout
from smsdesk.webhooks import delivery, services
from smsdesk.webhooks.models import Delivery, Event, EventType
from tests.webhooks.receiver import receiver
from tests.worker.helpers import drain, runner_for

pytestmark = pytest.mark.django_db(transaction=True)


def verify(secret: str, header: str, body: bytes) -> bool:
    """What the docs tell a receiver to do (docs/api.md, "Checking a signature")."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


@pytest.fixture
def allow_private(settings):  # type: ignore[no-untyped-def]
    # the receivers of these tests listen on 127.0.0.1
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True


def test_every_event_fires_once_per_change_with_a_valid_signature(
    admin_user: User, allow_private: None
) -> None:
    with receiver() as hook:
        endpoint, secret = services.create_endpoint(
            by=admin_user, url=hook.url, events=list(EventType.values)
        )
        optout.add_number("0655555555", by=admin_user, reason="asked")
        campaign = sending.create_campaign(
            author=admin_user,
            body="Bonjour",
            targets=Targets(numbers=["0612345678", "0655555555"]),
            send_at=None,
        )
        gateway = SimulatorGateway(delivery_delay=0)
        drain(runner_for(gateway))  # sent, then delivered
        calls.receive_call(gateway="simulator", caller="+33698765432", at=timezone.now())
        optout.remove_number("0655555555", by=admin_user, reason="asked again")
        assert delivery.run_due() == Delivery.objects.count()
        assert delivery.run_due() == 0  # nothing twice

    bodies = [json.loads(r.body) for r in hook.requests]
    for r in hook.requests:
        assert verify(secret, r.headers["Smsdesk-Signature"], r.body)
        assert not verify("whsec_other", r.headers["Smsdesk-Signature"], r.body)
    ids = [b["id"] for b in bodies]
    assert len(ids) == len(set(ids))  # each event once
    kinds = [(b["type"], b["data"].get("status")) for b in bodies]
    sent = next(m for m in campaign.created_messages if m.peer == "+33612345678")
    status_events = [b for b in bodies if b["type"] == "message.status"]
    statuses = [b["data"]["status"] for b in status_events if b["data"]["id"] == sent.id]
    assert statuses == ["sent", "delivered"]  # one per change, in order
    blocked = [b for b in status_events if b["data"]["to"] == "+33655555555"]
    assert [b["data"]["status"] for b in blocked] == ["blocked"]
    assert ("optout.added", None) in kinds and ("optout.removed", None) in kinds
    assert ("call.received", None) in kinds
    for b in bodies:
        assert set(b) == {"id", "type", "created_at", "data"}
    assert Message.objects.get(id=sent.id).status == Message.Status.DELIVERED
    assert endpoint.deliveries.filter(state=Delivery.State.DELIVERED).count() == len(bodies)


def test_an_inbound_sms_fires_message_received(admin_user: User, allow_private: None) -> None:
    with receiver() as hook:
        _endpoint, secret = services.create_endpoint(
            by=admin_user, url=hook.url, events=["message.received"]
        )
        gateway = SimulatorGateway(delivery_delay=0)
        runner = runner_for(gateway)
        drain(runner)
        gateway.inject_inbound("+33698765432", "Bonjour, je confirme")
        drain(runner)
        assert delivery.run_due() == 1
    [r] = hook.requests
    body = json.loads(r.body)
    assert body["type"] == "message.received"
    assert body["data"]["sender"] == "+33698765432"
    assert body["data"]["text"] == "Bonjour, je confirme"
    assert verify(secret, r.headers["Smsdesk-Signature"], r.body)


def test_nothing_is_written_without_an_endpoint_for_the_type(admin_user: User) -> None:
    services.create_endpoint(by=admin_user, url="https://93.184.216.34/", events=["call.received"])
    sending.create_campaign(
        author=admin_user, body="x", targets=Targets(numbers=["0612345678"]), send_at=None
    )
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    assert not Event.objects.exists()


def test_an_event_is_written_in_the_transaction_of_its_change(admin_user: User) -> None:
    """A change rolled back leaves no event; a crash after the commit leaves both (the
    worker sends it later: test_crash.py)."""
    services.create_endpoint(by=admin_user, url="https://93.184.216.34/", events=["optout.added"])
    with pytest.raises(RuntimeError), transaction.atomic():
        optout.add_number("0655555555", by=admin_user, reason="asked")
        assert Event.objects.count() == 1
        raise RuntimeError("the request failed after the change")
    assert not Event.objects.exists() and not Delivery.objects.exists()
