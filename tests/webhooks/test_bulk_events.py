"""The message events built by the database (`events.on_changes`: one INSERT … SELECT, the
payload from SQL's JSON functions) carry exactly what the API shows of each message
(`shapes.message_data` through Django's JSON encoder), on every kind of message, and each
change gets its event once, with one delivery per endpoint of its own organisation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from smsdesk.accounts.models import Organisation, User
from smsdesk.core import tenancy
from smsdesk.messaging import lifecycle, sending, shapes
from smsdesk.messaging.models import Message
from smsdesk.webhooks import events, services
from smsdesk.webhooks.models import Delivery, Event, EventType

pytestmark = pytest.mark.django_db


def api_view(message: Message) -> dict:
    return json.loads(json.dumps(shapes.message_data(message), cls=DjangoJSONEncoder))


def endpoint(org: Organisation, kinds: list[str]) -> None:
    admin = User.objects.create_user(
        f"admin-{org.slug}", password="x" * 12, role=User.Role.ADMIN, organisation=org
    )
    services.create_endpoint(by=admin, url="http://127.0.0.1:9/hook", events=kinds, org=org)


def test_the_databases_payload_is_the_apis_for_every_kind_of_message(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True
    org = tenancy.sole_organisation()
    endpoint(org, [EventType.MESSAGE_STATUS, EventType.MESSAGE_RECEIVED])
    campaign = sending.create_campaign(
        author=None,
        org=org,
        body='Café « déjà » "quoted" \\ back\nline 😀',
        to=["+33611111111", "+33622222222"],
        metadata={"crm": "42", "é": "ü"},
    )
    first, second = campaign.created_messages
    # sent with microseconds, a whole second, an error text, no line, an inbound STOP
    mine = Message.objects.for_org(org)
    mine.filter(id=first.id).update(
        status=Message.Status.SENT,
        sent_at=datetime(2026, 12, 7, 10, 11, 12, 345678, tzinfo=UTC),
        status_at=datetime(2026, 12, 7, 10, 11, 12, tzinfo=UTC),
    )
    mine.filter(id=second.id).update(
        status=Message.Status.FAILED, error="refusé: 0x0B", metadata=None
    )
    inbound = Message.objects.create(
        organisation=org,
        direction=Message.Direction.INBOUND,
        peer="ORANGE",
        body="STOP",
        status=Message.Status.UNREAD,
        keyword="stop",
        gateway=None,
        created_at=datetime(2026, 12, 7, 10, 0, 0, 500, tzinfo=UTC),
        status_at=datetime(2026, 12, 7, 10, 0, 0, 500, tzinfo=UTC),
    )
    read = Message.objects.create(
        organisation=org,
        direction=Message.Direction.INBOUND,
        peer="+33633333333",
        body="",
        status=Message.Status.READ,
        gateway_id=first.gateway_id,
        created_at=datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        status_at=datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
    )
    changes = [
        lifecycle.Change(first.id, "sending", "sent", lifecycle.SEND),
        lifecycle.Change(second.id, "sending", "failed", lifecycle.REFUSE),
        *(lifecycle.Change(m.id, None, m.status, lifecycle.RECEIVE) for m in (inbound, read)),
    ]
    with transaction.atomic():
        events.on_changes(changes)
    written = {e.data["id"]: e for e in Event.objects.for_org(org)}
    assert len(written) == 4
    for message in mine.filter(id__in=[first.id, second.id, inbound.id, read.id]):
        assert written[message.id].data == api_view(message), message.id
    assert written[first.id].data["sent_at"] == "2026-12-07T10:11:12.345Z"
    assert written[first.id].data["status_at"] == "2026-12-07T10:11:12Z"
    assert written[inbound.id].data["read"] is False and written[read.id].data["read"] is True
    assert written[inbound.id].type == EventType.MESSAGE_RECEIVED
    assert written[first.id].type == EventType.MESSAGE_STATUS
    keys = {
        d.event.data["id"]: d.order_key
        for d in Delivery.objects.filter(endpoint__organisation=org).select_related("event")
    }
    assert keys == {
        first.id: "+33611111111",
        second.id: "+33622222222",
        inbound.id: "ORANGE",
        read.id: "+33633333333",
    }


def test_each_change_once_and_only_to_its_own_organisations_endpoints(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True
    settings.SMSDESK_GATEWAYS = ["line-a=simulator?org=a", "line-b=simulator?org=b"]
    tenancy.sole_organisation()
    a = Organisation.objects.create(name="A", slug="a")
    b = Organisation.objects.create(name="B", slug="b")
    endpoint(a, [EventType.MESSAGE_STATUS])
    endpoint(b, [EventType.MESSAGE_RECEIVED])  # b hears no status change
    ours = sending.create_campaign(author=None, org=a, body="x", to=["+33611111111"])
    theirs = sending.create_campaign(author=None, org=b, body="x", to=["+33611111111"])
    (m,) = ours.created_messages
    (other,) = theirs.created_messages
    changes = [
        lifecycle.Change(m.id, "sending", "sent", lifecycle.SEND),
        lifecycle.Change(other.id, "sending", "sent", lifecycle.SEND),
        # the same message twice in one batch: two events, in order
        lifecycle.Change(m.id, "sent", "delivered", lifecycle.DELIVER),
    ]
    with transaction.atomic():
        events.on_changes(changes)
    assert Event.objects.for_org(a).count() == 2
    assert not Event.objects.for_org(b).exists()
    assert Delivery.objects.filter(endpoint__organisation=a).count() == 2
    assert not Delivery.objects.filter(endpoint__organisation=b).exists()
