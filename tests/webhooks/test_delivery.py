"""Deliveries: retried with back-off for 24 hours, in order per conversation, every try kept,
sent again on request, the endpoint disabled after 24 hours of failures; a receiver that
hangs or fails never slows a send."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.directory.services import Targets
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from smsdesk.optout import services as optout
from smsdesk.webhooks import delivery, services
from smsdesk.webhooks.models import Attempt, Delivery, Endpoint
from smsdesk.worker.loop import Worker
from tests.webhooks.receiver import receiver
from tests.worker.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def allow_private(settings):  # type: ignore[no-untyped-def]
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True  # the receivers listen on 127.0.0.1


def test_a_failed_delivery_is_tried_again_with_back_off_then_given_up(
    admin_user: User,
) -> None:
    with receiver(500) as hook:
        endpoint, _s = services.create_endpoint(
            by=admin_user, url=hook.url, events=["optout.added"]
        )
        optout.add_number("0655555555", by=admin_user, reason="asked")
        now = timezone.now()
        assert delivery.run_due(now=now) == 1
        d = Delivery.objects.get()
        assert d.state == Delivery.State.PENDING and d.attempts == 1
        assert d.next_attempt_at - now >= timedelta(seconds=10)
        assert delivery.run_due(now=now + timedelta(seconds=5)) == 0  # not due yet
        assert delivery.run_due(now=now + timedelta(seconds=11)) == 1
        d.refresh_from_db()
        assert d.next_attempt_at - (now + timedelta(seconds=11)) >= timedelta(seconds=30)
        hook.answer = 200
        assert delivery.run_due(now=now + timedelta(minutes=5)) == 1
    d.refresh_from_db()
    assert d.state == Delivery.State.DELIVERED
    assert [a.status_code for a in Attempt.objects.order_by("at")] == [500, 500, 200]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.enabled


def test_after_24_hours_of_failures_the_delivery_is_given_up_and_the_endpoint_disabled(
    admin_user: User,
) -> None:
    with receiver(503) as hook:
        endpoint, _s = services.create_endpoint(
            by=admin_user, url=hook.url, events=["optout.added"]
        )
        optout.add_number("0655555555", by=admin_user, reason="asked")
        now = timezone.now()
        delivery.run_due(now=now)
        endpoint.refresh_from_db()
        assert endpoint.failing_since is not None and endpoint.enabled
        delivery.run_due(now=now + timedelta(hours=24, minutes=1))
    d = Delivery.objects.get()
    assert d.state == Delivery.State.FAILED
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "24 hours" in endpoint.disabled_reason
    # nothing is sent to a disabled endpoint
    optout.add_number("0655555556", by=admin_user, reason="asked")
    assert delivery.run_due(now=now + timedelta(hours=25)) == 0


def test_deliveries_of_one_conversation_go_out_in_order(admin_user: User) -> None:
    with receiver(500) as hook:
        services.create_endpoint(
            by=admin_user, url=hook.url, events=["optout.added", "optout.removed"]
        )
        optout.add_number("0655555555", by=admin_user, reason="asked")
        optout.remove_number("0655555555", by=admin_user, reason="called back")
        optout.add_number("0611111111", by=admin_user, reason="asked")  # another number
        now = timezone.now()
        delivery.run_due(now=now)
        # the first of +33655555555 failed: its removal waits behind it; the other number
        # is not held up
        first = [json.loads(r.body) for r in hook.requests]
        assert [(b["type"], b["data"]["number"]) for b in first] == [
            ("optout.added", "+33655555555"),
            ("optout.added", "+33611111111"),
        ]
        hook.answer = 204
        delivery.run_due(now=now + timedelta(minutes=1))
        delivery.run_due(now=now + timedelta(minutes=1))
    later = [json.loads(r.body) for r in hook.requests[2:]]
    assert [
        (b["type"], b["data"]["number"]) for b in later if b["data"]["number"].endswith("55")
    ] == [
        ("optout.added", "+33655555555"),
        ("optout.removed", "+33655555555"),
    ]


def test_send_again_puts_a_delivery_back_and_keeps_its_tries(admin_user: User) -> None:
    with receiver(204) as hook:
        endpoint, _s = services.create_endpoint(
            by=admin_user, url=hook.url, events=["optout.added"]
        )
        optout.add_number("0655555555", by=admin_user, reason="asked")
        delivery.run_due()
        d = Delivery.objects.get()
        services.send_again(by=admin_user, endpoint_id=endpoint.id, delivery_id=d.id)
        delivery.run_due()
    assert len(hook.requests) == 2
    assert json.loads(hook.requests[0].body)["id"] == json.loads(hook.requests[1].body)["id"]
    assert hook.requests[0].body == hook.requests[1].body  # the same bytes, the same event
    assert Attempt.objects.filter(delivery=d).count() == 2


def test_an_operator_cannot_manage_webhooks(operator: User) -> None:
    with pytest.raises(Exception) as refused:
        services.create_endpoint(
            by=operator, url="https://93.184.216.34/", events=["message.status"]
        )
    assert getattr(refused.value, "http_status", None) == 403
    assert not Endpoint.objects.exists()


def _send_and_wait(
    author: User, n: int, *, first: Callable[[], None] | None = None
) -> tuple[float, list[int]]:
    """Start a worker, run `first` (with the worker running), then queue a send of `n` and
    wait until all are delivered; the seconds from the send to the last delivered."""
    gateway = SimulatorGateway(delivery_delay=0, batch_size=200)
    worker = Worker([gateway], idle_sleep=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        if first is not None:
            first()
        started = time.monotonic()
        campaign = sending.create_campaign(
            author=author,
            body="Bonjour",
            targets=Targets(numbers=[f"+336{10000000 + i}" for i in range(n)]),
            send_at=None,
        )
        ids = [m.id for m in campaign.created_messages]
        wait_until(
            lambda: (
                Message.objects.filter(id__in=ids, status=Message.Status.DELIVERED).count() == n
            ),
            120,
            f"{n} messages delivered",
        )
        took = time.monotonic() - started
    finally:
        worker.stop()
        thread.join(30)
    return took, ids


def test_a_receiver_that_hangs_or_fails_does_not_slow_a_2000_message_send(
    admin_user: User,
) -> None:
    """The whole send runs while the worker is calling a receiver that hangs (30 s) and
    another that answers 500: it starts once the hanging one holds a request, and ends
    before that one has answered. Both durations are printed beside a send without
    webhooks, for the eye (no timed assertion)."""
    without, _ids = _send_and_wait(admin_user, 2000)
    Message.objects.all().delete()
    with receiver("hang") as hung, receiver(500) as failing:
        # It hangs 30 s and more: longer than the send may take here (120 s at most), so
        # however loaded the machine, the whole send runs while it holds its requests.
        hung.hang_seconds = 300
        for url in (hung.url, failing.url):
            services.create_endpoint(
                by=admin_user, url=url, events=["message.status", "optout.added"]
            )

        def both_receivers_called() -> None:
            optout.add_number("0699999999", by=admin_user, reason="asked")
            wait_until(lambda: bool(hung.requests and failing.requests), 30, "both called")

        took, ids = _send_and_wait(admin_user, 2000, first=both_receivers_called)
        assert hung.answered == 0  # the send ran entirely while it hung
    # every change has its deliveries waiting (sent + delivered, two endpoints)
    assert Delivery.objects.filter(event__type="message.status").count() == 2 * 2 * len(ids)
    print(
        f"\n2,000 messages to delivered: {without:.2f} s without webhooks, "
        f"{took:.2f} s with a hanging and a failing endpoint"
    )


def test_an_endpoint_deleted_during_a_try_is_no_error(admin_user: User) -> None:
    from smsdesk.webhooks import network

    endpoint, _s = services.create_endpoint(
        by=admin_user, url="https://93.184.216.34/", events=["optout.added"]
    )
    optout.add_number("0655555555", by=admin_user, reason="asked")
    d = Delivery.objects.get()
    services.delete_endpoint(by=admin_user, endpoint_id=endpoint.id)  # while the POST runs
    assert delivery.record(d, network.Answer(204, "", 12), now=timezone.now()) is None
    assert not Attempt.objects.exists()
