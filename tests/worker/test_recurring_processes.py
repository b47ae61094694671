"""Recurring sends with real worker processes: an occurrence missed while no worker ran is
sent once when workers come back within the tolerance (two of them racing, one killed and
started again), and skipped and logged beyond it."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from smsdesk.directory.services import Targets
from smsdesk.gateways.simulator import read_log
from smsdesk.messaging import recurring
from smsdesk.messaging.models import Campaign, Message, Occurrence, Recurrence
from smsdesk.worker.models import WorkerProcess
from tests.worker.helpers import start_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def recurrence_missed_by(minutes: int) -> Recurrence:
    rec = recurring.create_recurrence(
        author=None,
        body="Rappel hebdomadaire",
        targets=Targets(numbers=["0612345678"]),
        repeat=recurring.check_repeat(every="week", on="mon,thu", at="09:00"),
    )
    # Its occurrence came while no worker was running.
    Recurrence.objects.filter(id=rec.id).update(next_at=timezone.now() - timedelta(minutes=minutes))
    rec.refresh_from_db()
    return rec


def test_workers_back_within_the_tolerance_send_the_occurrence_once(tmp_path: Path) -> None:
    rec = recurrence_missed_by(10)
    missed = rec.next_at
    log = tmp_path / "handed.jsonl"
    spec = f"simulator?delivery_delay=0&log={log}"
    env = {"SMSDESK_RECURRING_TOLERANCE": "60"}
    workers = [start_worker(spec, tmp_path / "out.txt", **env) for _ in range(2)]
    try:
        wait_until(
            lambda: Message.objects.filter(status="delivered").exists(), 60, "the occurrence sent"
        )
        # One of them is killed and started again: it must not send the occurrence again.
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(10)
        started = timezone.now()
        workers[0] = start_worker(spec, tmp_path / "out.txt", **env)
        wait_until(
            lambda: WorkerProcess.objects.filter(started_at__gte=started).exists(),
            60,
            "the restarted worker registered",
        )
        time.sleep(2)  # a few housekeeping rounds of the restarted worker (0.5 s each)
    finally:
        for w in workers:
            w.terminate()
            w.wait(30)
    assert Campaign.objects.count() == 1
    run = Occurrence.objects.get()
    assert run.occurs_at == missed and run.campaign is not None
    handed = Counter(entry["to"] for entry in read_log(log))
    assert handed == {"+33612345678": 1}  # sent once, by one of the workers
    rec.refresh_from_db()
    assert rec.next_at > timezone.now()
    connection.close()


def test_an_occurrence_missed_beyond_the_tolerance_is_skipped_and_logged(tmp_path: Path) -> None:
    rec = recurrence_missed_by(120)
    out = tmp_path / "out.txt"
    worker = start_worker("simulator?delivery_delay=0", out, SMSDESK_RECURRING_TOLERANCE="60")
    try:
        wait_until(lambda: Occurrence.objects.exists(), 60, "the occurrence recorded")
    finally:
        worker.terminate()
        worker.wait(30)
    # The missed occurrence, and any other since then beyond the tolerance (a 09:00 of
    # today when the test runs after 10:00), each recorded as skipped; none sent.
    runs = list(Occurrence.objects.order_by("occurs_at"))
    assert runs[0].occurs_at == rec.next_at
    assert all(r.campaign is None and "missed" in r.skipped for r in runs)
    assert not Campaign.objects.exists() and not Message.objects.exists()
    assert f"recurring send {rec.id}: occurrence of" in out.read_text()
    assert "skipped" in out.read_text()
    rec.refresh_from_db()
    assert rec.next_at > timezone.now()
    connection.close()
