"""The SMPP gateway in real worker processes against a real SMSC process: an SMSC killed and
restarted during a send, a worker SIGKILLed during a send. Counted from the SMSC's own log
of what it accepted."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from smsdesk.messaging import lifecycle
from smsdesk.messaging.models import Message
from tests.gateways.smsc import Smsc, wait_for
from tests.gateways.test_smpp import counts, queue
from tests.worker.helpers import sigkill_and_restart, start_worker

S = Message.Status
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def by_number() -> dict[str, int]:
    return {peer.lstrip("+"): i for i, peer in Message.objects.values_list("id", "peer")}


def sigkill_during_send(spec: str, tmp_path: Path, *, most_unknown: int) -> int:
    """A worker SIGKILLed once 300 are sent, then another until every message is final; how
    many the dead one left `unknown` (never the whole batch: at most `most_unknown`, what its
    windows held)."""
    left: list[int] = []

    def stranded() -> None:
        left.append(counts()[S.UNKNOWN])
        assert counts()[S.QUEUED] > 0 and left[0] <= most_unknown

    sigkill_and_restart(
        spec,
        tmp_path / "worker.txt",
        busy=lambda: counts()[S.SENT] + counts()[S.DELIVERED] >= 300,
        between=stranded,
        done=lambda: counts()[S.QUEUED] + counts()[S.SENDING] == 0,
    )
    return left[0]


def test_an_smsc_killed_and_restarted_during_2000_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    ids = queue(2000)
    smsc = Smsc(tmp_path / "received.jsonl")
    window, binds = 10, 2
    spec = f"op={smsc.url(f'window={window}&binds={binds}&tps=400&timeout=5')}"
    worker = start_worker(spec, tmp_path / "worker.txt")
    try:
        wait_for(lambda: len(smsc.received()) >= 500, 120, "500 accepted")
        smsc.kill()
        killed_at = len(smsc.received())
        smsc.start()  # same port, same log
        wait_for(
            lambda: (
                counts()[S.QUEUED] + counts()[S.SENDING] == 0 and sum(counts().values()) == 2000
            ),
            240,
            "every message final",
        )
    finally:
        worker.terminate()
        worker.wait(30)
        smsc.close()
    assert 500 <= killed_at < 2000
    numbers = by_number()
    accepted = Counter(numbers[r["to"]] for r in smsc.received())
    assert max(accepted.values()) == 1  # 0 handed over twice
    final = counts()
    handed = set(
        Message.objects.filter(status__in=[S.SENT, S.DELIVERED]).values_list("id", flat=True)
    )
    unknown = set(Message.objects.filter(status=S.UNKNOWN).values_list("id", flat=True))
    assert handed <= set(accepted)  # what we call sent, the SMSC has
    assert handed | unknown == set(ids)  # 0 lost: every other one is sent or delivered
    assert len(unknown) <= window * binds  # only what was in the windows when it died
    assert final[S.FAILED] == 0
    connection.close()


def test_a_worker_sigkilled_during_an_smpp_send_leaves_at_most_the_windows_unknown(
    tmp_path: Path,
) -> None:
    ids = queue(2000)
    smsc = Smsc(tmp_path / "received.jsonl")
    window, binds = 10, 2
    spec = f"op={smsc.url(f'window={window}&binds={binds}&tps=300')}"
    try:
        stranded = sigkill_during_send(spec, tmp_path, most_unknown=window * binds)
    finally:
        smsc.close()
    numbers = by_number()
    accepted = Counter(numbers[r["to"]] for r in smsc.received())
    assert max(accepted.values()) == 1  # nothing sent twice
    assert counts()[S.UNKNOWN] == stranded
    assert set(accepted) | set(
        Message.objects.filter(status=S.UNKNOWN).values_list("id", flat=True)
    ) == set(ids)
    connection.close()


def test_a_worker_sigkilled_while_it_writes_results_and_receipts_together_loses_no_receipt(
    tmp_path: Path,
) -> None:
    """The SMSC sends each receipt right after its submit_sm_resp, so the worker writes a
    batch's results and the receipts that came meanwhile in one transaction, and answers the
    receipts (deliver_sm_resp) only after its commit. Killed in the middle of that: at most
    the windows `unknown`, nothing sent twice, and every receipt it had not answered comes
    again (the SMSC redelivers what was not answered at the next bind) and is recorded:
    every message the SMSC took and we know of ends `delivered`, none stays `sent`."""
    ids = queue(2000)
    smsc = Smsc(tmp_path / "received.jsonl")
    window, binds = 50, 2  # batches of 100: the kill lands in a large transaction
    # One thread per bind (lanes=on): each lane's window, each its own transactions.
    spec = f"op={smsc.url(f'window={window}&binds={binds}&lanes=on')}"
    first = start_worker(spec, tmp_path / "worker.txt")
    try:
        wait_for(lambda: counts()[S.DELIVERED] >= 500, 120, "500 delivered")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        lifecycle.recover_in_flight(live_workers=[], now=timezone.now())
        stranded = counts()[S.UNKNOWN]
        assert counts()[S.QUEUED] > 0 and stranded <= window * binds
        second = start_worker(spec, tmp_path / "worker.txt")
        try:
            wait_for(
                lambda: counts()[S.QUEUED] + counts()[S.SENDING] + counts()[S.SENT] == 0,
                240,
                "every message final, every receipt recorded",
            )
        finally:
            second.terminate()
            second.wait(30)
    finally:
        smsc.close()
    numbers = by_number()
    accepted = Counter(numbers[r["to"]] for r in smsc.received())
    assert max(accepted.values()) == 1  # nothing sent twice
    final = counts()
    assert final[S.UNKNOWN] == stranded
    delivered = set(Message.objects.filter(status=S.DELIVERED).values_list("id", flat=True))
    unknown = set(Message.objects.filter(status=S.UNKNOWN).values_list("id", flat=True))
    assert delivered | unknown == set(ids) and delivered <= set(accepted)
    connection.close()
