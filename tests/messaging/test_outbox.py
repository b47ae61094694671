from __future__ import annotations

import pytest
from django.utils import timezone

from smsdesk.messaging import lifecycle, outbox, sending
from smsdesk.messaging.models import Message


@pytest.mark.django_db(transaction=True)
def test_claim_takes_exactly_the_limit() -> None:
    # Regression: on PostgreSQL `id IN (SELECT ... LIMIT n SKIP LOCKED)` claimed everything.
    sending.create_campaign(author=None, body="x", to=[f"+336123456{i:02d}" for i in range(100)])
    claimed = lifecycle.claim(gateway="simulator", worker_id="w1", limit=20, now=timezone.now())
    assert len(claimed) == 20
    assert Message.objects.filter(status="sending", claimed_by="w1").count() == 20
    assert [c.sms.id for c in claimed] == sorted(c.sms.id for c in claimed)  # oldest first


@pytest.mark.django_db(transaction=True)
def test_a_second_claim_never_takes_a_claimed_message() -> None:
    sending.create_campaign(author=None, body="x", to=[f"+336123456{i:02d}" for i in range(30)])
    now = timezone.now()
    first = {
        c.sms.id for c in lifecycle.claim(gateway="simulator", worker_id="a", limit=20, now=now)
    }
    second = {
        c.sms.id for c in lifecycle.claim(gateway="simulator", worker_id="b", limit=20, now=now)
    }
    assert len(first) == 20 and len(second) == 10 and not first & second


@pytest.mark.django_db(transaction=True)
def test_recover_marks_only_dead_workers_messages_unknown() -> None:
    sending.create_campaign(author=None, body="x", to=[f"+336123456{i:02d}" for i in range(10)])
    now = timezone.now()
    lifecycle.claim(gateway="simulator", worker_id="alive", limit=4, now=now)
    lifecycle.claim(gateway="simulator", worker_id="dead", limit=3, now=now)
    assert lifecycle.recover_in_flight(live_workers=["alive"], now=now) == 3
    assert Message.objects.filter(status="unknown").count() == 3
    assert Message.objects.filter(status="sending", claimed_by="alive").count() == 4


@pytest.mark.django_db
def test_results_and_reports_of_a_large_batch_are_each_recorded_once() -> None:
    # More rows than SQLite takes in one statement: the updates go in chunks.
    from smsdesk.gateways.base import DeliveryState, SendResult, StatusReport

    count = 2500
    sending.create_campaign(author=None, body="x", to=[f"+3361{i:07d}" for i in range(count)])
    now = timezone.now()
    claimed = lifecycle.claim(gateway="simulator", worker_id="w", limit=count, now=now)
    results = [
        SendResult.ok(c.sms.id, f"ref-{c.sms.id}")
        if i % 5
        else SendResult.failed(c.sms.id, "busy", permanent=i % 10 == 0)
        for i, c in enumerate(claimed)
    ]
    lifecycle.record_results(results, attempts={c.sms.id: c.attempts for c in claimed}, now=now)
    assert Message.objects.filter(status="sent").count() == 2000
    assert Message.objects.filter(status="failed", error="busy").count() == 250
    assert Message.objects.filter(status="queued", error="busy", due_at__gt=now).count() == 250
    assert set(Message.objects.filter(status="sent").values_list("gateway_ref", flat=True)) == {
        r.reference for r in results if r.accepted
    }

    reports = [
        StatusReport("simulator", r.reference, DeliveryState.DELIVERED)
        for r in results
        if r.accepted
    ]
    orphan = StatusReport("simulator", "nobody-sent-this", DeliveryState.DELIVERED)
    assert outbox.record_reports([*reports, orphan]) == [orphan]
    assert Message.objects.filter(status="delivered").count() == 2000
    # A report again changes nothing and is not an orphan: its message is known.
    assert outbox.record_reports(reports[:3]) == []
    assert Message.objects.filter(status="delivered").count() == 2000
