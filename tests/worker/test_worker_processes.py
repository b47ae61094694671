"""Real worker processes on the test database: the guarantees that need more than one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from smsdesk.gateways.simulator import read_log
from smsdesk.messaging import lifecycle
from smsdesk.messaging.models import GatewayState, Message
from tests.worker.helpers import ROOT, database_url, start_worker, wait_until

S = Message.Status
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def queue_messages(count: int) -> list[int]:
    gateway, _ = GatewayState.objects.get_or_create(
        name="simulator", defaults={"kind": "simulator"}
    )
    now = timezone.now()
    created = Message.objects.bulk_create(
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
    lifecycle.enqueue(created)
    return list(Message.objects.values_list("id", flat=True))


def counts() -> Counter:
    return Counter(Message.objects.values_list("status", flat=True))


def test_two_workers_one_line_one_driver_each_message_exactly_once(tmp_path: Path) -> None:
    """A line is driven by one worker at a time (its lease, worker/leases.py): the other
    stands by. (Lines shared out between workers: tests/ops/test_scale_out.py.)"""
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
    assert sum(1 for log in logs if read_log(log)) == 1, "one worker drives the line"


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


def test_connections_cut_four_times_strand_nothing_and_send_nothing_twice(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    ids = queue_messages(3000)
    log = tmp_path / "handed.jsonl"
    # A slow network (each hand-over 50 ms): the cuts land in claims, results and reports.
    worker = start_worker(
        f"simulator?delivery_delay=0.3&latency=0.05&batch_size=50&log={log}",
        tmp_path / "out.txt",
    )
    try:
        for cut in range(4):
            wait_until(lambda c=cut: len(read_log(log)) >= 500 * (c + 1), 180, f"cut {cut + 1}")
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                assert cursor.fetchone()[0] >= 1
        wait_until(lambda: counts()[S.DELIVERED] == 3000, 300, "3,000 delivered")
    finally:
        worker.terminate()
        worker.wait(60)
    assert worker.returncode == 0
    final = counts()
    assert final == {S.DELIVERED: 3000}  # 0 sending, 0 unknown
    handed = Counter(entry["id"] for entry in read_log(log))
    assert sorted(handed) == sorted(ids) and max(handed.values()) == 1  # each number once
    connection.close()


def test_sigterm_with_a_slow_hand_over_marks_the_rest_unknown_and_exits_0(tmp_path: Path) -> None:
    queue_messages(30)
    out = tmp_path / "out.txt"
    worker = start_worker("simulator?latency=40&batch_size=10", out, SMSDESK_STOP_GRACE="2")
    wait_until(lambda: counts()[S.SENDING] == 10, 60, "a batch in the network's hands")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0  # after the grace, not after the 40 s hand-over
    assert counts() == {S.UNKNOWN: 10, S.QUEUED: 20}
    assert "10 messages still being handed over" in out.read_text()
    connection.close()


def test_reports_pending_in_the_network_survive_a_sigkill_of_serve(tmp_path: Path) -> None:
    ids = queue_messages(50)
    # The network reports 4 s after the hand-over: serve is killed before that.
    server = start_serve("simulator?delivery_delay=4", tmp_path / "serve.txt")
    try:
        wait_until(lambda: counts()[S.SENT] == 50, 60, "50 sent, reports pending")
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert counts() == {S.SENT: 50}
    again = start_serve("simulator?delivery_delay=4", tmp_path / "serve.txt")
    try:
        wait_until(lambda: counts()[S.DELIVERED] == 50, 60, "the 50 reports recorded")
    finally:
        again.terminate()
        again.wait(60)
    assert set(Message.objects.filter(status=S.DELIVERED).values_list("id", flat=True)) == set(ids)
    connection.close()


def start_serve(gateways: str, log_file: Path) -> subprocess.Popen:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        SMSDESK_DATABASE_URL=database_url(),
        SMSDESK_GATEWAYS=gateways,
        SMSDESK_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="smsdesk.settings",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log_file.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_a_sigkill_during_a_slow_hand_over_leaves_unknown_only_what_was_not_acknowledged(
    tmp_path: Path,
) -> None:
    ids = queue_messages(300)
    log = tmp_path / "handed.jsonl"
    # One hand-over of 300 taking 3 s; the network acknowledges 10 at a time as it goes.
    worker = start_worker(
        f"simulator?delivery_delay=0&latency=3&batch_size=300&log={log}", tmp_path / "out.txt"
    )
    wait_until(lambda: counts()[S.SENT] >= 100, 60, "results recorded during the hand-over")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    acknowledged = {entry["id"] for entry in read_log(log)}
    recorded = set(Message.objects.filter(status=S.SENT).values_list("id", flat=True))
    assert recorded <= acknowledged < set(ids)  # killed in the middle of the hand-over
    # At most one group of results was acknowledged and not written yet.
    assert len(acknowledged - recorded) <= 100
    lifecycle.recover_in_flight(live_workers=[], now=timezone.now())
    final = counts()
    assert final[S.UNKNOWN] == 300 - len(recorded) < 300  # not the whole batch
    assert final[S.SENT] == len(recorded) and sum(final.values()) == 300
    connection.close()
