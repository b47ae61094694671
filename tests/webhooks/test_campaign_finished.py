"""campaign.finished: once, when a campaign's last message reaches a final state (delivered,
failed, blocked, unknown, cancelled), also when two workers settle its last two messages at
the same moment; never again when a message of it is sent again later."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, transaction

from smsdesk.accounts.models import User
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import actions, lifecycle, sending
from smsdesk.messaging.models import Campaign, Message
from smsdesk.optout import services as optout
from smsdesk.webhooks import delivery, services
from smsdesk.webhooks.models import Delivery, Event, EventType
from tests.webhooks.receiver import receiver
from tests.worker.helpers import drain, runner_for

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED = EventType.CAMPAIGN_FINISHED


@pytest.fixture(autouse=True)
def allow_private(settings):  # type: ignore[no-untyped-def]
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True  # nothing is delivered by these tests


def listen(admin: User, events: list[str]) -> None:
    services.create_endpoint(by=admin, url="http://127.0.0.1:9/hook", events=events)


def finished_events() -> list[dict]:
    return [e.data for e in Event.objects.filter(type=FINISHED).order_by("id")]


def test_it_fires_once_when_the_last_message_is_final(admin_user: User) -> None:
    with receiver() as hook:
        services.create_endpoint(by=admin_user, url=hook.url, events=[FINISHED])
        optout.add_number("0655555555", by=admin_user, reason="asked")
        campaign = sending.create_campaign(
            author=admin_user, body="Bonjour", to=["0612345678", "0612345679", "0655555555"]
        )
        assert finished_events() == []  # two wait, one blocked
        drain(runner_for(SimulatorGateway(delivery_delay=0)))  # sent, then delivered
        [data] = finished_events()
        assert data["id"] == campaign.id
        assert data["counts"]["delivered"] == 2 and data["counts"]["blocked"] == 1
        assert data["counts"]["waiting"] == 0 and data["counts"]["sent"] == 0
        assert data["finished_at"] is not None
        assert Campaign.objects.get(id=campaign.id).finished_at is not None
        delivery.run_due()
        [request] = hook.requests
        body = json.loads(request.body)
        assert body["type"] == "campaign.finished" and body["data"]["id"] == campaign.id
    assert Delivery.objects.get().state == Delivery.State.DELIVERED


def test_sent_is_not_final_the_last_report_finishes_it(admin_user: User) -> None:
    listen(admin_user, [FINISHED])
    campaign = sending.create_campaign(
        author=admin_user, body="Bonjour", to=["0612345678", "0612345679"]
    )
    ids = sorted(m.id for m in campaign.created_messages)
    lifecycle.move(lifecycle.CLAIM, ids=ids)
    lifecycle.move(lifecycle.SEND, ids=ids)
    assert finished_events() == []  # handed over, no delivery report yet
    lifecycle.move(lifecycle.FAIL_REPORTED, ids=ids[:1])
    assert finished_events() == []
    assert Campaign.objects.get(id=campaign.id).finished_at is None
    lifecycle.move(lifecycle.DELIVER, ids=ids[1:])
    [data] = finished_events()
    assert (data["counts"]["failed"], data["counts"]["delivered"]) == (1, 1)


def test_it_does_not_fire_again_after_a_retry(admin_user: User) -> None:
    listen(admin_user, [FINISHED])
    campaign = sending.create_campaign(author=admin_user, body="Bonjour", to=["0612345678"])
    [message] = campaign.created_messages
    lifecycle.move(lifecycle.CLAIM, ids=[message.id])
    lifecycle.move(lifecycle.REFUSE, ids=[message.id], error="refused")  # failed: final
    assert [e["id"] for e in finished_events()] == [campaign.id]
    actions.retry_message(message.id, by=admin_user)  # waiting again, then final again
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    assert Message.objects.get(id=message.id).status == Message.Status.DELIVERED
    assert len(finished_events()) == 1


def test_a_campaign_all_on_the_stop_list_finishes_at_once(admin_user: User) -> None:
    listen(admin_user, [FINISHED])
    optout.add_number("0655555555", by=admin_user, reason="asked")
    campaign = sending.create_campaign(author=admin_user, body="Promo", to=["0655555555"])
    assert [e["id"] for e in finished_events()] == [campaign.id]


def test_not_written_when_no_endpoint_listens(admin_user: User) -> None:
    listen(admin_user, ["message.status"])
    campaign = sending.create_campaign(author=admin_user, body="Bonjour", to=["0612345678"])
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    assert finished_events() == []
    assert Campaign.objects.get(id=campaign.id).finished_at is not None  # kept all the same


def test_two_workers_settling_the_last_two_at_once_fire_it_once(admin_user: User) -> None:
    listen(admin_user, [FINISHED])
    campaign = sending.create_campaign(
        author=admin_user, body="Bonjour", to=["0612345678", "0612345679"]
    )
    ids = sorted(m.id for m in campaign.created_messages)
    lifecycle.move(lifecycle.CLAIM, ids=ids)
    lifecycle.move(lifecycle.SEND, ids=ids)
    first_moved = threading.Event()
    second_started = threading.Event()
    errors: list[BaseException] = []

    def worker(message_id: int, first: bool) -> None:
        try:
            if not first:
                first_moved.wait(30)
                second_started.set()
            with transaction.atomic():
                lifecycle.move(lifecycle.DELIVER, ids=[message_id])
                if first:
                    # the second worker settles its message while this one has not
                    # committed yet (it waits for this one's lock, or reads without it)
                    first_moved.set()
                    second_started.wait(30)
                    threading.Event().wait(0.3)
        except BaseException as e:  # reported by the test
            errors.append(e)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(ids[0], True)),
        threading.Thread(target=worker, args=(ids[1], False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert Message.objects.filter(id__in=ids, status="delivered").count() == 2
    assert [e["id"] for e in finished_events()] == [campaign.id]
