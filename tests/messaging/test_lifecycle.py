"""The lifecycle (messaging/lifecycle.py): every transition does what its declaration says,
on the fast paths (no subscriber) and on the generic ones (a subscriber listening), and no
other code writes a status."""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from smsdesk.gateways.base import DeliveryState, SendResult, StatusReport
from smsdesk.messaging import actions, campaigns, lifecycle, outbox, sending
from smsdesk.messaging.models import CountDelta, Message, OutboxEntry
from smsdesk.optout import services as optout
from smsdesk.optout.models import Source

S = Message.Status
ROOT = Path(__file__).resolve().parents[2] / "smsdesk"
NUMBERS = [f"+3361234560{i}" for i in range(6)]


def scanned_counts(campaign_id: int) -> dict[str, int]:
    found: Counter[str] = Counter()
    rows = Message.objects.filter(campaign_id=campaign_id).values_list("status")
    for status, n in rows.annotate(n=Count("id")).order_by():
        found[lifecycle.BUCKET_OF[status]] += n
    return dict(found)


def check_invariants(campaign_id: int) -> None:
    """What the transitions keep beside the statuses matches the statuses."""
    claimable = set(
        Message.objects.filter(direction="out", status__in=lifecycle.CLAIMABLE).values_list(
            "id", flat=True
        )
    )
    assert set(OutboxEntry.objects.values_list("message_id", flat=True)) == claimable
    assert lifecycle.campaign_counts([campaign_id])[campaign_id] == scanned_counts(campaign_id)


def day_counts() -> Counter[str]:
    return Counter(
        dict(CountDelta.objects.values_list("event").annotate(n=Sum("count")).order_by())
    )


@pytest.fixture(params=["fast", "listened"])
def changes(request, monkeypatch):  # type: ignore[no-untyped-def]
    seen: list[lifecycle.Change] = []
    if request.param == "listened":
        monkeypatch.setattr(lifecycle, "subscribers", [seen.extend])
    return request.param, seen


@pytest.mark.django_db
def test_every_transition_keeps_queue_counters_and_campaign_counts(changes) -> None:  # type: ignore[no-untyped-def]
    mode, seen = changes
    optout.opt_out(NUMBERS[5], source=Source.SMS)
    campaign = sending.create_campaign(author=None, body="Bonjour", to=NUMBERS)
    ids = list(campaign.messages.order_by("id").values_list("id", flat=True))
    check_invariants(campaign.id)
    now = timezone.now()
    claimed = lifecycle.claim(gateway="simulator", worker_id="w", limit=4, now=now)
    assert [c.sms.id for c in claimed] == ids[:4]
    check_invariants(campaign.id)
    attempts = {c.sms.id: c.attempts for c in claimed}
    lifecycle.record_results(
        [
            SendResult.ok(ids[0], ["r0"]),
            SendResult.refused(ids[1], "busy", permanent=False),
            SendResult.refused(ids[2], "unknown number", permanent=True),
            SendResult.maybe(ids[3], "link died"),
        ],
        attempts=attempts,
        now=now,
        gateway="simulator",
    )
    check_invariants(campaign.id)
    outbox.record_reports([StatusReport("simulator", "r0", DeliveryState.DELIVERED)], now=now)
    check_invariants(campaign.id)
    lifecycle.release([], reason="", now=now)
    assert actions.retry_message(ids[2]).status == S.QUEUED
    check_invariants(campaign.id)
    optout.add_number(NUMBERS[2], by=None, source=Source.API)  # blocks the retried one
    check_invariants(campaign.id)
    assert campaigns.cancel_campaign(campaign.id) == 2  # the temporary refusal, the fifth
    check_invariants(campaign.id)
    statuses = dict(Message.objects.filter(campaign=campaign).values_list("id", "status"))
    assert [statuses[i] for i in ids] == [
        S.DELIVERED,
        S.CANCELLED,
        S.BLOCKED,
        S.UNKNOWN,
        S.CANCELLED,
        S.BLOCKED,
    ]
    counted = day_counts()
    assert (counted["sent"], counted["delivered"], counted["reported"]) == (1, 1, 1)
    assert (counted["failed"], counted["unknown"], counted["blocked"]) == (1, 1, 2)
    if mode == "listened":  # each change once, from the state it really left
        names = Counter(c.transition.name for c in seen)
        assert names == Counter(
            queue_new=5,
            block_new=1,
            claim=4,
            send=1,
            retry_later=1,
            refuse=1,
            lose=1,
            deliver=1,
            retry=1,
            block=1,
            cancel=2,
        )
        for change in seen:
            assert change.new == change.transition.target
            assert change.old in change.transition.sources or change.old is None
        # and the counters are exactly those the transitions declare
        declared: Counter[str] = Counter()
        for change in seen:
            declared.update(str(e) for e in change.transition.counters)
        assert declared == counted


@pytest.mark.django_db
def test_a_result_for_a_message_another_worker_thought_lost_still_counts(changes) -> None:  # type: ignore[no-untyped-def]
    campaign = sending.create_campaign(author=None, body="x", to=NUMBERS[:2])
    now = timezone.now()
    claimed = lifecycle.claim(gateway="simulator", worker_id="w", limit=2, now=now)
    lifecycle.recover_in_flight(live_workers=[], now=now)  # we looked dead
    lifecycle.record_results(
        [SendResult.ok(c.sms.id, [f"r{c.sms.id}"]) for c in claimed],
        attempts={c.sms.id: 1 for c in claimed},
        now=now,
        gateway="simulator",
    )
    assert set(campaign.messages.values_list("status", flat=True)) == {S.SENT}
    check_invariants(campaign.id)
    lifecycle.record_unknown([c.sms.id for c in claimed], reason="x", now=now)  # too late
    outbox.record_reports(
        [StatusReport("simulator", f"r{c.sms.id}", DeliveryState.FAILED) for c in claimed]
    )
    assert set(campaign.messages.values_list("status", flat=True)) == {S.FAILED}
    check_invariants(campaign.id)


@pytest.mark.django_db
def test_counts_survive_the_fold() -> None:
    campaign = sending.create_campaign(author=None, body="x", to=NUMBERS[:3])
    campaigns.cancel_campaign(campaign.id)
    before = lifecycle.campaign_counts([campaign.id])
    assert lifecycle.fold_campaign_counts() >= 2
    assert lifecycle.fold_campaign_counts() == 0
    assert lifecycle.campaign_counts([campaign.id]) == before == {campaign.id: {"cancelled": 3}}


@pytest.mark.django_db
def test_the_heartbeat_alarm_names_a_waiting_message_without_its_queue_row(caplog) -> None:  # type: ignore[no-untyped-def]
    campaign = sending.create_campaign(author=None, body="x", to=NUMBERS[:2])
    stray = campaign.messages.order_by("id").first()
    assert lifecycle.alarm_strays(timezone.now()) == 0
    OutboxEntry.objects.filter(message_id=stray.id).delete()  # a write outside lifecycle.py
    with caplog.at_level(logging.ERROR, logger="smsdesk.messaging.lifecycle"):
        assert lifecycle.alarm_strays(timezone.now()) == 1
    assert f"ids {stray.id}" in caplog.text
    later = timezone.now() + lifecycle.STRAYS_LOOK_BACK + timedelta(minutes=1)
    assert lifecycle.alarm_strays(later) == 0  # only the recent ones: cheap
    lifecycle.enqueue([stray])  # put back for the suite's own check


# A status written anywhere else: an ORM update or save of `status`, or SQL setting it.
WRITES = re.compile(
    r"\.update\((?:[^()]|\([^()]*\))*\bstatus\s*=|SET\s+status\b|\bstatus\s*=\s*%s|"
    r"\.status\s*=(?!=)|objects\.create\((?:[^()]|\([^()]*\))*\bstatus\s*="
)


def test_no_code_but_the_lifecycle_writes_a_status() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts or path.name == "lifecycle.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in WRITES.finditer(text)]
    assert offenders == []


@pytest.mark.django_db
def test_a_report_settles_a_message_whose_hand_over_was_unknown(changes) -> None:  # type: ignore[no-untyped-def]
    campaign = services_send(NUMBERS[:2])
    now = timezone.now()
    claimed = lifecycle.claim(gateway="simulator", worker_id="w", limit=2, now=now)
    lifecycle.record_results(
        [SendResult.maybe(c.sms.id, "link died", [f"m{c.sms.id}"]) for c in claimed],
        attempts={c.sms.id: 1 for c in claimed},
        now=now,
        gateway="simulator",
    )
    assert set(campaign.messages.values_list("status", flat=True)) == {S.UNKNOWN}
    first, second = (c.sms.id for c in claimed)
    outbox.record_reports(
        [
            StatusReport("simulator", f"m{first}", DeliveryState.DELIVERED),
            StatusReport("simulator", f"m{second}", DeliveryState.FAILED, detail="absent"),
        ]
    )
    assert Message.objects.get(id=first).status == S.DELIVERED  # the network had it after all
    assert Message.objects.get(id=second).status == S.FAILED
    check_invariants(campaign.id)


def services_send(numbers: list[str]):  # type: ignore[no-untyped-def]
    return sending.create_campaign(author=None, body="x", to=numbers)
