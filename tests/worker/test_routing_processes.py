"""Routing with a real worker process over real simulator lines (issue 18): a line over its
daily limit moves its queue to the next line only with failover on; a paused line sends
nothing; the watch pauses a failing line and an administrator resumes it; `unknown` messages
never move. What each line handed over is read from the network's own log (`log=`)."""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from smsdesk.gateways.simulator import read_log
from smsdesk.messaging import gateway_state, lifecycle, sending
from smsdesk.messaging.models import GatewayState, Message
from smsdesk.worker.loop import ROUTING_EVERY
from tests.worker.helpers import start_worker, wait_until

S = Message.Status
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def lines(settings, tmp_path: Path, *entries: str) -> str:  # type: ignore[no-untyped-def]
    """The same SMSDESK_GATEWAYS for this test process and the worker; each line logs what
    it hands over to tmp_path/<name>.jsonl."""
    specs = [f"{e}&log={tmp_path / (e.split('=')[0] + '.jsonl')}" for e in entries]
    settings.SMSDESK_GATEWAYS = specs
    for spec in gateway_state.configured():
        gateway_state.ensure(spec.name, spec.kind)
    return " ".join(specs)


def handed(tmp_path: Path, line: str) -> list[int]:
    return [entry["id"] for entry in read_log(tmp_path / f"{line}.jsonl")]


def send(*numbers: str, line: str | None = None) -> list[int]:
    campaign = sending.create_campaign(author=None, body="Bonjour", to=list(numbers), gateway=line)
    return [m.id for m in campaign.created_messages]


def statuses(ids: list[int]) -> Counter:
    return Counter(Message.objects.filter(id__in=ids).values_list("status", flat=True))


def delivered(ids: list[int]) -> bool:
    return statuses(ids)[S.DELIVERED] == len(ids)


def settle() -> None:
    """Let the worker's housekeeping run its routing pass (watch, failover) a few times."""
    time.sleep(3 * ROUTING_EVERY)


NUMBERS = [f"+336100000{i:02d}" for i in range(8)]


@pytest.mark.parametrize("failover", [True, False])
def test_over_its_daily_limit_a_line_moves_its_queue_only_with_failover(
    settings, tmp_path: Path, failover: bool
) -> None:  # type: ignore[no-untyped-def]
    gateways = lines(
        settings,
        tmp_path,
        f"a=simulator?priority=9&limit_day=3&failover={'true' if failover else 'false'}"
        "&delivery_delay=0&batch_size=2",
        "b=simulator?priority=1&delivery_delay=0",
    )
    ids = send(*NUMBERS)  # the pool's best: "a", under its limit when they are saved
    assert set(Message.objects.filter(id__in=ids).values_list("gateway_id", flat=True)) == {"a"}
    worker = start_worker(gateways, tmp_path / "out.txt", SMSDESK_FAILOVER_AFTER="0")
    try:
        if failover:
            wait_until(lambda: delivered(ids), 90, "all 8 delivered, 3 by a and 5 by b")
        else:
            wait_until(lambda: statuses(ids)[S.DELIVERED] == 3, 90, "a's 3 delivered")
            settle()
            sentinel = send("+33619999999", line="b")
            wait_until(lambda: delivered(sentinel), 60, "b answers: the worker is alive")
    finally:
        worker.terminate()
        assert worker.wait(60) == 0
    by_a, by_b = handed(tmp_path, "a"), handed(tmp_path, "b")
    assert len(by_a) == 3 and set(by_a) <= set(ids)  # the limit, in SMS parts (1 each)
    if failover:
        assert sorted(by_a + by_b) == sorted(ids)  # each once, none twice
        assert Counter(Message.objects.filter(id__in=ids).values_list("gateway_id", flat=True)) == {
            "a": 3,
            "b": 5,
        }
    else:
        assert not set(by_b) & set(ids)  # nothing moved
        assert statuses(ids) == {S.DELIVERED: 3, S.QUEUED: 5}
        assert set(
            Message.objects.filter(status=S.QUEUED).values_list("gateway_id", flat=True)
        ) == {"a"}
    connection.close()


def test_a_paused_line_sends_nothing_until_resumed(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gateways = lines(
        settings, tmp_path, "a=simulator?delivery_delay=0", "b=simulator?delivery_delay=0"
    )
    call_command("line", "pause", "a", stdout=io.StringIO())
    ids = send(*NUMBERS[:5], line="a")
    worker = start_worker(gateways, tmp_path / "out.txt", SMSDESK_FAILOVER_AFTER="0")
    try:
        settle()
        sentinel = send("+33619999999", line="b")
        wait_until(lambda: delivered(sentinel), 60, "b answers: the worker is alive")
        assert handed(tmp_path, "a") == []
        assert statuses(ids) == {S.QUEUED: 5}
        call_command("line", "resume", "a", stdout=io.StringIO())
        wait_until(lambda: delivered(ids), 60, "the 5 sent once a is resumed")
    finally:
        worker.terminate()
        assert worker.wait(60) == 0
    assert sorted(handed(tmp_path, "a")) == sorted(ids)
    connection.close()


def test_the_watch_pauses_a_failing_line_its_queue_fails_over_and_a_resume_sends_again(
    settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad = [f"+3360000{i:04d}" for i in range(10)]
    gateways = lines(
        settings,
        tmp_path,
        "a=simulator?priority=9&failover=true&delivery_delay=0&fail_permanent="
        + ",".join(n.lstrip("+") for n in bad),
        "b=simulator?priority=1&delivery_delay=0",
    )
    failing = send(*bad)
    worker = start_worker(
        gateways,
        tmp_path / "out.txt",
        SMSDESK_FAILOVER_AFTER="0",
        SMSDESK_WATCH_MIN_MESSAGES="10",
        SMSDESK_WATCH_FAILED_PERCENT="50",
    )
    try:
        wait_until(lambda: statuses(failing)[S.FAILED] == 10, 60, "10 refused by the network")
        wait_until(
            lambda: GatewayState.objects.filter(name="a", paused_at__isnull=False).exists(),
            60,
            "the watch pauses line a",
        )
        state = GatewayState.objects.get(name="a")
        assert state.pause_reason == "failed" and state.paused_by is None
        assert state.pause_detail["failed"] == 100 and state.pause_detail["results"] == 10
        later = send(*NUMBERS[:4], line="a")  # chosen, but a is paused: failover takes them
        wait_until(lambda: delivered(later), 60, "the 4 delivered by b")
        assert not set(later) & set(handed(tmp_path, "a"))
        call_command("line", "resume", "a", stdout=io.StringIO())
        again = send(*NUMBERS[4:], line="a")
        wait_until(lambda: delivered(again), 60, "a sends again once resumed")
        settle()
        assert GatewayState.objects.get(name="a").paused_at is None  # not paused again
    finally:
        worker.terminate()
        assert worker.wait(60) == 0
    assert set(again) <= set(handed(tmp_path, "a"))
    connection.close()


def test_unknown_messages_never_move_to_another_line(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gateways = lines(
        settings,
        tmp_path,
        "a=simulator?failover=true&delivery_delay=0",
        "b=simulator?delivery_delay=0",
    )
    ids = send(*NUMBERS, line="a")
    # A worker died while line a had three of them: they may or may not have gone out.
    claimed = lifecycle.claim(gateway="a", worker_id="dead", limit=3, now=timezone.now())
    unknown = [c.sms.id for c in claimed]
    lifecycle.record_unknown(unknown, reason="died", now=timezone.now())
    call_command("line", "pause", "a", stdout=io.StringIO())
    waiting = [i for i in ids if i not in unknown]
    worker = start_worker(gateways, tmp_path / "out.txt", SMSDESK_FAILOVER_AFTER="0")
    try:
        wait_until(lambda: delivered(waiting), 60, "the 5 waiting moved to b and delivered")
        settle()
    finally:
        worker.terminate()
        assert worker.wait(60) == 0
    assert sorted(handed(tmp_path, "b")) == sorted(waiting)
    assert handed(tmp_path, "a") == []
    rows = Message.objects.filter(id__in=unknown).values_list("status", "gateway_id")
    assert sorted(rows) == [(S.UNKNOWN, "a")] * 3
    connection.close()
