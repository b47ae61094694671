"""Real worker processes on the test database: the guarantees that need more than one."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from smsdesk.gateways.simulator import read_log
from smsdesk.messaging.models import Gateway, Message
from tests.worker.helpers import start_worker, wait_until

S = Message.Status
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def queue_messages(count: int) -> list[int]:
    gateway, _ = Gateway.objects.get_or_create(name="simulator", defaults={"kind": "simulator"})
    now = timezone.now()
    Message.objects.bulk_create(
        [
            Message(
                direction="out",
                status=S.QUEUED,
                peer=f"+3361{i:07d}",
                gateway=gateway,
                body=f"message {i}",
                created_at=now,
                due_at=now,
                status_at=now,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    return list(Message.objects.values_list("id", flat=True))


def counts() -> Counter:
    return Counter(Message.objects.values_list("status", flat=True))


def test_two_workers_send_each_message_exactly_once(tmp_path: Path) -> None:
    ids = queue_messages(5000)
    logs = [tmp_path / "handed-a.jsonl", tmp_path / "handed-b.jsonl"]
    workers = [
        start_worker(f"simulator?delivery_delay=0&batch_size=50&log={log}", tmp_path / "out.txt")
        for log in logs
    ]
    try:
        wait_until(lambda: counts()[S.DELIVERED] == 5000, 180, "5,000 delivered")
    finally:
        for w in workers:
            w.terminate()
            w.wait(30)
    handed = [entry["id"] for log in logs for entry in read_log(log)]
    assert sorted(handed) == sorted(ids)  # every message once, none twice
    assert all(read_log(log) for log in logs), "both workers should have taken a share"


def test_a_killed_worker_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    ids = queue_messages(2000)
    log = tmp_path / "handed.jsonl"
    spec = f"simulator?delivery_delay=0&batch_size=20&log={log}"
    # After 600 messages the network stops answering: the next batch is in its hands.
    first = start_worker(spec + "&hang_after=600", tmp_path / "out.txt")
    wait_until(
        lambda: len(read_log(log)) >= 600 and counts()[S.SENDING] > 0, 120, "a batch in flight"
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    in_flight = counts()[S.SENDING]
    assert 0 < in_flight <= 20

    second = start_worker(spec, tmp_path / "out.txt")
    try:
        wait_until(
            lambda: counts()[S.DELIVERED] + counts()[S.UNKNOWN] == 2000, 180, "all messages final"
        )
    finally:
        second.terminate()
        second.wait(30)
    final = counts()
    assert final[S.UNKNOWN] == in_flight  # the batch in flight, never resent
    assert sum(final.values()) == 2000  # nothing lost
    handed = Counter(entry["id"] for entry in read_log(log))
    assert max(handed.values()) == 1  # nothing sent twice
    unknown = set(Message.objects.filter(status=S.UNKNOWN).values_list("id", flat=True))
    delivered = set(Message.objects.filter(status=S.DELIVERED).values_list("id", flat=True))
    assert delivered <= set(handed) and delivered | unknown == set(ids)
    assert "may or may not have been sent" in Message.objects.filter(status=S.UNKNOWN).first().error
    connection.close()
