"""Recurring sends: each occurrence a campaign, at the local time, once."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from smsdesk.core.errors import ServiceError
from smsdesk.directory import services as directory
from smsdesk.directory.services import Targets
from smsdesk.messaging import errors, recurring
from smsdesk.messaging.models import Campaign, Occurrence, Recurrence

PARIS = ZoneInfo("Europe/Paris")


def weekly(**kw) -> Recurrence:  # type: ignore[no-untyped-def]
    repeat = recurring.check_repeat(every="week", on=["mon", "thu"], at="09:00", **kw)
    return recurring.create_recurrence(
        author=None, body="Rappel du lundi", targets=Targets(numbers=["0612345678"]), repeat=repeat
    )


def starting(rec: Recurrence, at: datetime) -> None:
    """As if the recurring send had been saved before `at` (its first occurrence then)."""
    rec.next_at = recurring.schedule.next_after(recurring.rule_of(rec), at, PARIS)
    rec.save()


@pytest.mark.django_db
def test_a_weekly_send_fires_at_nine_local_across_march_and_october() -> None:
    rec = weekly()
    starting(rec, datetime(2026, 3, 20, tzinfo=UTC))
    fired = []
    while True:
        rec.refresh_from_db()
        if rec.next_at is None or rec.next_at > datetime(2026, 11, 2, tzinfo=UTC):
            break
        assert recurring.fire_due(now=rec.next_at + timedelta(seconds=20)) == 1
        fired.append(rec.next_at)
    local = [f.astimezone(PARIS) for f in fired]
    assert all((t.hour, t.minute) == (9, 0) for t in local), local
    # both clock changes are inside: 29 March and 25 October 2026
    assert {f.utcoffset() for f in local} == {timedelta(hours=1), timedelta(hours=2)}
    assert local[0].date().isoformat() == "2026-03-23"
    assert Campaign.objects.filter(source="recurring").count() == len(fired) == 64
    assert Occurrence.objects.filter(campaign__isnull=False).count() == 64


@pytest.mark.django_db
def test_a_worker_back_within_the_tolerance_sends_the_missed_occurrence_once(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_RECURRING_TOLERANCE = 60
    rec = weekly()
    due = rec.next_at
    assert recurring.fire_due(now=due - timedelta(seconds=1)) == 0  # not yet
    back = due + timedelta(minutes=45)  # stopped over the occurrence, back 45 min later
    assert recurring.fire_due(now=back) == 1
    assert recurring.fire_due(now=back) == 0  # a second worker, or the same again
    assert recurring.fire_due(now=back + timedelta(minutes=5)) == 0
    assert Campaign.objects.count() == 1
    rec.refresh_from_db()
    assert rec.next_at > due and rec.done == 1


@pytest.mark.django_db
def test_an_occurrence_missed_beyond_the_tolerance_is_skipped_and_logged(settings, caplog) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_RECURRING_TOLERANCE = 60
    rec = weekly()
    due = rec.next_at
    caplog.set_level(logging.WARNING, logger="smsdesk.recurring")
    assert recurring.fire_due(now=due + timedelta(hours=2)) == 0
    assert not Campaign.objects.exists()
    run = Occurrence.objects.get()
    assert run.occurs_at == due and run.campaign is None and "missed" in run.skipped
    assert "skipped" in caplog.text
    rec.refresh_from_db()
    assert rec.next_at > due + timedelta(hours=2)  # the next one comes as usual
    assert recurring.fire_due(now=rec.next_at) == 1


@pytest.mark.django_db
def test_a_week_without_worker_skips_each_missed_occurrence_once(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_RECURRING_TOLERANCE = 60
    rec = weekly()
    due = rec.next_at
    assert recurring.fire_due(now=due + timedelta(days=8)) == 0
    assert Occurrence.objects.count() in (2, 3)  # mondays and thursdays of that week
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_each_occurrence_reads_the_group_as_it_is_that_day() -> None:
    group = directory.create_group(name="Équipe")
    first = directory.create_contact(name="Un", number="0611111111")
    directory.update_group(group.id, add=[first.id])
    repeat = recurring.check_repeat(every="day", at="09:00")
    rec = recurring.create_recurrence(
        author=None, body="Bonjour", targets=Targets(groups=[group.id]), repeat=repeat
    )
    assert recurring.fire_due(now=rec.next_at) == 1
    second = directory.create_contact(name="Deux", number="0622222222")
    directory.update_group(group.id, add=[second.id])
    rec.refresh_from_db()
    assert recurring.fire_due(now=rec.next_at) == 1
    counts = list(Campaign.objects.order_by("id").values_list("recipient_count", flat=True))
    assert counts == [1, 2]


@pytest.mark.django_db
def test_the_commercial_window_applies_to_each_occurrence(settings) -> None:  # type: ignore[no-untyped-def]
    repeat = recurring.check_repeat(every="day", at="23:30")
    rec = recurring.create_recurrence(
        author=None,
        body="Promo",
        targets=Targets(numbers=["0612345678"]),
        repeat=repeat,
        commercial=True,
    )
    assert recurring.fire_due(now=rec.next_at) == 1
    campaign = Campaign.objects.get()
    # 23:30 is outside the allowed hours: the campaign waits for the next opening
    assert campaign.commercial and campaign.send_at > timezone.now()


@pytest.mark.django_db
def test_a_paused_send_fires_nothing_and_resumes_from_now() -> None:
    rec = weekly()
    recurring.set_paused(rec.id, by=None, paused=True)
    assert recurring.fire_due(now=rec.next_at + timedelta(minutes=1)) == 0
    rec = recurring.set_paused(rec.id, by=None, paused=False)
    assert rec.next_at > timezone.now()


@pytest.mark.django_db
def test_an_operator_cannot_change_someone_elses_recurring_send(operator, admin_user) -> None:  # type: ignore[no-untyped-def]
    rec = weekly()
    rec.author = admin_user
    rec.save()
    with pytest.raises(Exception) as e:
        recurring.delete_recurrence(rec.id, by=operator)
    assert getattr(e.value, "http_status", None) == 403
    recurring.delete_recurrence(rec.id, by=admin_user)
    assert not Recurrence.objects.exists()


@pytest.mark.parametrize(
    "repeat, field",
    [
        ({"every": "year", "at": "09:00"}, "every"),
        ({"every": "week", "at": "09:00"}, "on"),
        ({"every": "week", "on": ["mon"], "at": "9h"}, "at"),
        ({"every": "month", "day": 0, "at": "09:00"}, "day"),
        ({"every": "day", "day": 3, "at": "09:00"}, "day"),
        ({"every": "day", "at": "09:00", "until": "2020-01-01"}, "until"),
        ({"every": "day", "at": "09:00", "until": "9999-12-31"}, "until"),
        ({"every": "day", "at": "09:00", "until": "demain"}, "until"),
        ({"every": "day", "at": "09:00", "times": 0}, "times"),
        ({"every": "day", "at": "09:00", "times": "1e9"}, "times"),
        ({"every": "day", "at": "09:00", "times": 3, "until": date.today().isoformat()}, "times"),
    ],
)
def test_hostile_repeat_rules_say_what_to_fix(repeat, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.InvalidRepeat) as e:
        recurring.check_repeat(**repeat)
    assert e.value.field == field


@pytest.mark.django_db
def test_nothing_is_stored_for_a_send_that_would_be_refused() -> None:
    repeat = recurring.check_repeat(every="day", at="09:00")
    with pytest.raises(ServiceError):
        recurring.create_recurrence(
            author=None, body="", targets=Targets(numbers=["12"]), repeat=repeat
        )
    assert not Recurrence.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_occurrence_send_it_once() -> None:
    rec = weekly()
    now = rec.next_at + timedelta(seconds=5)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(recurring.fire_due(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert Campaign.objects.count() == 1 and Occurrence.objects.count() == 1
