"""The maintained counters (messaging/stats.py): they say what a scan of the messages
says, whatever path changed the messages."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from smsdesk.core import tenancy
from smsdesk.gateways.base import Concat
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import actions, campaigns, lifecycle, receiving, sending, stats
from smsdesk.messaging.models import CountDelta, DailyCount, Message
from tests.worker.helpers import drain, make_due, runner_for

S = Message.Status
E = stats.Event
# (day, gateway, tag, author id or 0, event), counted twice: messages and parts
Key = tuple[date, str, str, int, str]


def day(at: datetime) -> date:
    return timezone.localdate(at)


def events_of(m: Message, *, parts: bool = False) -> Counter[Key]:
    """What a message says it went through, as the counters count it (its SMS parts with
    `parts`)."""
    found: Counter[Key] = Counter()
    gateway = m.gateway_id or ""
    n = m.segments if parts else 1
    who = (m.campaign.tag if m.campaign else "", m.author_id or 0)
    if m.direction == Message.Direction.INBOUND:
        found[(day(m.created_at), gateway, *who, E.RECEIVED)] += n
        return found
    if m.sent_at is not None:
        found[(day(m.sent_at), gateway, *who, E.SENT)] += n
    if m.status in (S.DELIVERED, S.FAILED, S.UNKNOWN):
        found[(day(m.status_at), gateway, *who, m.status)] += n
    if m.status == S.BLOCKED:
        found[(day(m.status_at), "", *who, E.BLOCKED)] += n
    if m.status in (S.DELIVERED, S.FAILED) and m.sent_at is not None:
        found[(day(m.sent_at), gateway, *who, E.REPORTED)] += n
    return found


def scanned(history: Counter[Key], *, parts: bool = False) -> Counter[Key]:
    total = Counter(history)
    for m in Message.objects.select_related("campaign"):
        total.update(events_of(m, parts=parts))
    return +total


def folded(*, parts: bool = False) -> Counter[Key]:
    stats.fold()
    assert not CountDelta.objects.exists()
    return +Counter(
        {
            (r.day, r.gateway, r.tag, r.user_id, r.event): r.parts if parts else r.count
            for r in DailyCount.objects.all()
        }
    )


@pytest.mark.django_db
def test_changes_are_appended_then_folded_and_read_either_way() -> None:
    now = timezone.now()
    org = tenancy.sole_organisation().pk
    stats.add(
        [
            (org, day(now), "sim", "", 0, E.SENT, 2, 2),
            (org, day(now), "sim", "", 0, E.SENT, 1, 3),
        ]
    )
    stats.count(E.RECEIVED, at=now, gateway="sim")
    stats.count(E.SENT, at=now - timedelta(days=40), gateway="sim", n=5)
    assert CountDelta.objects.count() == 3  # summed per key before the INSERT
    before = stats.read(now)
    assert stats.fold() == 3
    assert stats.fold() == 0
    after = stats.read(now)
    for counts in (before, after):
        assert counts.total(E.SENT, days=1) == 3
        assert counts.total(E.RECEIVED, days=30) == 1
        assert counts.today_by_gateway == {("sim", E.SENT): 3, ("sim", E.RECEIVED): 1}
        assert counts.earlier == {E.SENT: 5}
        assert counts.sent_without_report(before=day(now) + timedelta(days=1)) == 8
    stats.count(E.SENT, at=now, gateway="sim")  # folded into the existing row
    stats.fold()
    assert DailyCount.objects.get(day=day(now), gateway="sim", event=E.SENT).count == 4


@pytest.mark.django_db
def test_a_message_is_counted_on_its_local_day(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "Europe/Paris"
    # 23:30 UTC on 31 March is 1:30 on 1 April in Paris (summer time).
    at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    receiving.receive_inbound(gateway="simulator", sender="+33698765432", text="x", received_at=at)
    assert folded() == Counter({(date(2026, 4, 1), "simulator", "", 0, E.RECEIVED): 1})


@pytest.mark.django_db
def test_the_per_day_series_has_every_day_and_zeros() -> None:
    now = timezone.now()
    stats.count(E.SENT, at=now - timedelta(days=2), gateway="sim", n=4)
    series = stats.read(now).per_day(E.SENT, days=3)
    assert series == [
        (day(now) - timedelta(days=2), 4),
        (day(now) - timedelta(days=1), 0),
        (day(now), 0),
    ]


NUMBERS = [f"+336120000{i:02d}" for i in range(12)]
REFUSED, BUSY, UNDELIVERABLE = NUMBERS[0], NUMBERS[1], NUMBERS[2]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counters_equal_a_scan_after_a_random_mix_of_operations(  # type: ignore[no-untyped-def]
    settings, seed: int, operator, admin_user
) -> None:
    settings.SMSDESK_MAX_ATTEMPTS = 2
    settings.SMSDESK_STOP_CONFIRMATION = True
    rng = random.Random(seed)
    gateway = SimulatorGateway(
        delivery_delay=0,
        fail_permanent=[REFUSED],
        fail_temporary=[BUSY],
        undeliverable=[UNDELIVERABLE],
    )
    runner = runner_for(gateway)
    history: Counter[Key] = Counter()  # what retried messages had counted before
    history_parts: Counter[Key] = Counter()
    long_ref = 0

    def send() -> None:
        to = rng.sample(NUMBERS, rng.randint(1, 5))
        text = "Bonjour" if rng.random() < 0.7 else "Un long message. " * 20  # 3 parts
        later = timezone.now() + timedelta(hours=1) if rng.random() < 0.2 else None
        sending.create_campaign(
            author=rng.choice([None, operator, admin_user]),
            body=text,
            to=to,
            send_at=later,
            tag=rng.choice(["", "Soldes", "soldes", "rappel"]),
        )

    def inbound() -> None:
        nonlocal long_ref
        sender = rng.choice(NUMBERS)
        text = rng.choice(["Merci", "STOP", "START", "Oui"])
        if rng.random() < 0.2:
            long_ref += 1
            for seq in (2, 1):  # out of order
                receiving.receive_inbound(
                    gateway="simulator",
                    sender=sender,
                    text=f"part {seq} ",
                    received_at=timezone.now(),
                    concat=Concat(long_ref, 2, seq),
                )
            return
        receiving.receive_inbound(
            gateway="simulator", sender=sender, text=text, received_at=timezone.now()
        )

    def cancel() -> None:
        waiting = list(Message.objects.filter(status__in=[S.QUEUED, S.SCHEDULED]))
        if waiting:
            m = rng.choice(waiting)
            if m.campaign_id and rng.random() < 0.3:
                campaigns.cancel_campaign(m.campaign_id)
            else:
                actions.cancel_message(m.id)

    def retry() -> None:
        done = list(Message.objects.filter(status__in=[S.FAILED, S.UNKNOWN]))
        if done:
            m = rng.choice(done)
            history.update(events_of(m))
            history_parts.update(events_of(m, parts=True))
            actions.retry_message(m.id)

    def in_flight_lost() -> None:
        # A worker claims a batch and dies before recording it; another recovers it.
        claimed = lifecycle.claim(
            gateway="simulator", worker_id="dead", limit=3, now=timezone.now()
        )
        if claimed and rng.random() < 0.5:
            lifecycle.record_unknown([c.sms.id for c in claimed], reason="gone", now=timezone.now())
        else:
            lifecycle.recover_in_flight(live_workers=["test-worker"], now=timezone.now())

    def time_passes() -> None:
        make_due(
            *Message.objects.filter(status__in=[S.QUEUED, S.SCHEDULED]).values_list("id", flat=True)
        )

    operations = [send, send, inbound, inbound, cancel, retry, in_flight_lost, time_passes]
    sending.create_campaign(author=operator, body="Un long message. " * 20, to=NUMBERS[3:6])
    for _ in range(40):
        rng.choice(operations)()
        if rng.random() < 0.5:
            drain(runner)
        if rng.random() < 0.2:
            stats.fold()
    time_passes()
    drain(runner)

    expected = scanned(history)
    expected_parts = scanned(history_parts, parts=True)
    assert {k[-1] for k in expected} >= {E.SENT, E.DELIVERED, E.FAILED, E.RECEIVED}
    assert {k[3] for k in expected} == {0, operator.id, admin_user.id}
    assert expected_parts != expected  # some long messages: parts are not messages
    counts = stats.read()
    today = timezone.localdate()
    for event in E:
        assert counts.by_day.get((today, event), 0) == sum(
            n for (d, *_k, e), n in expected.items() if d == today and e == event
        ), event
    check_report(expected, expected_parts)  # the Statistics page's figures, before the fold
    assert folded() == expected
    assert folded(parts=True) == expected_parts
    check_report(expected, expected_parts)  # and after


def check_report(expected: Counter[Key], expected_parts: Counter[Key]) -> None:
    """The Statistics page's groupings equal the same groupings of the scan."""
    first, last = min(k[0] for k in expected), max(k[0] for k in expected)

    def key_of(k: Key, by: str) -> str:
        d, gateway, tag, user, _e = k
        return {
            "day": d.isoformat(),
            "line": gateway,
            "tag": tag.lower(),
            "user": str(user or ""),
        }[by]

    for by in ("day", "line", "tag", "user"):
        want: Counter[tuple[str, str]] = Counter()
        want_parts: Counter[tuple[str, str]] = Counter()
        for k, n in expected.items():
            if k[-1] in stats.SHOWN:
                want[(key_of(k, by), k[-1])] += n
        for k, n in expected_parts.items():
            if k[-1] in stats.SHOWN:
                want_parts[(key_of(k, by), k[-1])] += n
        got: Counter[tuple[str, str]] = Counter()
        got_parts: Counter[tuple[str, str]] = Counter()
        for row in stats.report(first=first, last=last, by=by).rows:
            for event in stats.SHOWN:
                got[(row.key, event)] += row.counts.get(event, 0)
                got_parts[(row.key, event)] += row.parts.get(event, 0)
        assert +got == +want, by
        assert +got_parts == +want_parts, by
