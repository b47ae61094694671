from __future__ import annotations

import pytest
from django.utils import timezone

from smsdesk.messaging import outbox, services
from smsdesk.messaging.models import Message


@pytest.mark.django_db(transaction=True)
def test_claim_takes_exactly_the_limit() -> None:
    # Regression: on PostgreSQL `id IN (SELECT ... LIMIT n SKIP LOCKED)` claimed everything.
    services.create_campaign(author=None, body="x", to=[f"+336123456{i:02d}" for i in range(100)])
    claimed = outbox.claim(gateway="simulator", worker_id="w1", limit=20, now=timezone.now())
    assert len(claimed) == 20
    assert Message.objects.filter(status="sending", claimed_by="w1").count() == 20
    assert [c.sms.id for c in claimed] == sorted(c.sms.id for c in claimed)  # oldest first


@pytest.mark.django_db(transaction=True)
def test_a_second_claim_never_takes_a_claimed_message() -> None:
    services.create_campaign(author=None, body="x", to=[f"+336123456{i:02d}" for i in range(30)])
    now = timezone.now()
    first = {c.sms.id for c in outbox.claim(gateway="simulator", worker_id="a", limit=20, now=now)}
    second = {c.sms.id for c in outbox.claim(gateway="simulator", worker_id="b", limit=20, now=now)}
    assert len(first) == 20 and len(second) == 10 and not first & second


@pytest.mark.django_db(transaction=True)
def test_recover_marks_only_dead_workers_messages_unknown() -> None:
    services.create_campaign(author=None, body="x", to=[f"+336123456{i:02d}" for i in range(10)])
    now = timezone.now()
    outbox.claim(gateway="simulator", worker_id="alive", limit=4, now=now)
    outbox.claim(gateway="simulator", worker_id="dead", limit=3, now=now)
    assert outbox.recover_in_flight(live_workers=["alive"], now=now) == 3
    assert Message.objects.filter(status="unknown").count() == 3
    assert Message.objects.filter(status="sending", claimed_by="alive").count() == 4
