"""Line leases (worker/leases.py): one driver per line, expiry, take-over, no hand-over once
the lease may have run out. Both databases; the race is PostgreSQL's real concern (several
hosts), SQLite runs it too (one writer at a time)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import gateway_state, sending
from smsdesk.messaging.models import Message
from smsdesk.worker import leases
from smsdesk.worker.leases import Holder, Lease
from smsdesk.worker.loop import Worker
from smsdesk.worker.models import LineLease, WorkerProcess
from tests.worker.helpers import drain, runner_for

S = Message.Status
pytestmark = pytest.mark.django_db(transaction=True)
A = Holder("worker-a", "host-a", 101)
B = Holder("worker-b", "host-b", 202)


def test_of_workers_racing_for_a_line_exactly_one_takes_it() -> None:
    now = leases.database_now()
    racers = [Holder(f"racer-{i}", f"host-{i % 2}", 1000 + i) for i in range(6)]
    for line in ("line-1", "line-2", "line-3"):
        start = threading.Barrier(len(racers))
        won: list[str] = []

        def race(
            holder: Holder, line: str = line, start: threading.Barrier = start, won: list = won
        ) -> None:
            try:
                start.wait()
                if leases.take(line, holder, now=now, seconds=30):
                    won.append(holder.worker_id)
            finally:
                connection.close()  # each thread had its own connection

        threads = [threading.Thread(target=race, args=(h,)) for h in racers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(won) == 1, won
        assert LineLease.objects.get(line=line).worker_id == won[0]


def test_a_lease_is_taken_over_only_once_it_has_expired() -> None:
    now = leases.database_now()
    assert leases.take("modem-1", A, now=now, seconds=30)
    assert not leases.take("modem-1", B, now=now + timedelta(seconds=29), seconds=30)
    # A renews in time: still A's.
    assert leases.renew(["modem-1"], A, now=now + timedelta(seconds=20), seconds=30) == {"modem-1"}
    assert not leases.take("modem-1", B, now=now + timedelta(seconds=49), seconds=30)
    # A falls silent: the lease runs out, B takes the line, A's renewal finds it gone.
    assert leases.take("modem-1", B, now=now + timedelta(seconds=51), seconds=30)
    assert leases.renew(["modem-1"], A, now=now + timedelta(seconds=52), seconds=30) == set()
    lease = LineLease.objects.get(line="modem-1")
    assert (lease.worker_id, lease.host, lease.pid) == ("worker-b", "host-b", 202)


def test_an_orphan_line_is_taken_only_after_a_whole_lease_free() -> None:
    now = leases.database_now()
    assert leases.take("sim", A, now=now, seconds=30)
    leases.release(["sim"], A, now=now + timedelta(seconds=5))  # rebalancing: free from then
    assert not leases.take("sim", B, now=now + timedelta(seconds=20), seconds=30, orphan_only=True)
    assert leases.take("sim", B, now=now + timedelta(seconds=36), seconds=30, orphan_only=True)


def test_a_released_lease_is_free_at_once_and_only_the_holder_releases() -> None:
    now = leases.database_now()
    assert leases.take("sim", A, now=now, seconds=30)
    assert leases.release(["sim"], B) == 0  # not B's to give
    assert not leases.take("sim", B, now=now, seconds=30)
    assert leases.release(["sim"], A) == 1
    assert leases.take("sim", B, now=now, seconds=30, orphan_only=True)


def test_a_dead_process_of_this_host_frees_its_lines_without_waiting() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = leases.database_now()
    gone = Holder("worker-gone", "host-a", dead.pid)
    alive = Holder("worker-alive", "host-a", 1)  # pid 1 always exists
    elsewhere = Holder("worker-far", "host-b", dead.pid)  # another host: its pids are not ours
    for line, holder in (("l1", gone), ("l2", alive), ("l3", elsewhere)):
        assert leases.take(line, holder, now=now, seconds=30)
    before_restart = Holder("worker-before", "host-a", os.getpid())  # a container's pid 1
    assert leases.take("l4", before_restart, now=now, seconds=30)
    freed = leases.expire_dead_on_host("host-a", is_alive=leases.pid_alive, me="me")
    assert sorted(freed) == ["l1", "l4"]
    assert leases.take("l1", B, now=now, seconds=30)
    assert not leases.take("l2", B, now=now, seconds=30)
    assert not leases.take("l3", B, now=now, seconds=30)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def queue(count: int) -> list[int]:
    numbers = [f"+336{i:08d}" for i in range(1, count + 1)]
    return [
        m.id for m in sending.create_campaign(author=None, body="x", to=numbers).created_messages
    ]


def test_a_worker_whose_lease_may_have_run_out_hands_nothing_over() -> None:
    clock = Clock()
    lease = Lease("simulator", 30, clock=clock)
    gateway = SimulatorGateway(delivery_delay=0, batch_size=5)
    runner = runner_for(gateway, lease=lease, clock=clock)
    ids = queue(5)
    # Never granted: the runner does not even start the gateway.
    drain(runner)
    assert gateway.handed == [] and runner.state == "starting"
    lease.granted(asked_at=clock.t)
    clock.t += 19  # 11 s left: more than the margin (10 s)
    drain(runner)
    assert sorted(m.id for m in gateway.handed) == ids
    more = queue(5)
    clock.t += 2  # 9 s left: a hand-over might outlive the lease
    drain(runner)
    assert len(gateway.handed) == 5
    assert set(Message.objects.filter(id__in=more).values_list("status", flat=True)) == {S.QUEUED}
    assert runner.state == "starting"  # it let go of the gateway (a modem's port)
    lease.granted(asked_at=clock.t)  # renewed
    drain(runner)
    assert len(gateway.handed) == 10


def test_the_lease_is_checked_again_just_before_the_hand_over() -> None:
    """Claimed while the lease was good, then it went bad (a long pause): the batch goes
    back to the queue, nothing is handed over."""
    ticks = iter([0.0])  # begin(); then 25 s later, the check before the hand-over
    lease = Lease("simulator", 30, clock=lambda: next(ticks, 25.0))
    lease.granted(asked_at=0.0)
    gateway = SimulatorGateway(delivery_delay=0)
    runner = runner_for(gateway, lease=lease)
    runner.state = "up"
    gateway.start(runner.emit)
    ids = queue(3)
    runner.step()
    assert gateway.handed == []
    rows = Message.objects.filter(id__in=ids)
    assert set(rows.values_list("status", flat=True)) == {S.QUEUED}
    assert set(rows.values_list("claimed_by", flat=True)) == {""}


def test_a_lease_given_back_waits_for_the_round_in_progress() -> None:
    lease = Lease("sim", 30)
    lease.granted(asked_at=lease.clock())
    assert lease.begin()
    assert not lease.leave()  # a hand-over is in progress: later
    lease.end()
    assert not lease.begin()  # but no new round
    lease.stay()  # no longer wanted elsewhere: it drives again
    assert lease.begin()
    assert not lease.leave()
    lease.end()
    assert lease.leave() and not lease.held


def worker(*lines: str) -> Worker:
    return Worker([SimulatorGateway(name=n) for n in lines])


def test_workers_share_the_lines_out_and_a_stopped_one_frees_its_own(settings) -> None:  # type: ignore[no-untyped-def]
    lines = ("sim-a", "sim-b", "sim-c", "sim-d")
    first, second = worker(*lines), worker(*lines)
    first.tend_leases()  # alone: takes every line
    assert sorted(held(first)) == list(lines)
    second.tend_leases()  # its share is 2, all are taken: it waits
    assert held(second) == []
    first.tend_leases()  # sees a worker with less than its share: gives two back
    second.tend_leases()
    assert len(held(first)) == 2 and len(held(second)) == 2
    assert set(held(first)) | set(held(second)) == set(lines)
    rows = {w.id: sorted(w.gateways) for w in WorkerProcess.objects.all()}
    assert rows == {first.id: sorted(held(first)), second.id: sorted(held(second))}
    first.join(grace=0)  # stops cleanly: its lines are free at once
    second.tend_leases()
    assert sorted(held(second)) == list(lines)


def test_a_worker_drives_only_the_lines_it_may() -> None:
    pinned = Worker([SimulatorGateway(name="modem-1")], eligible=["modem-1"])
    anywhere = worker("modem-1", "sim")
    anywhere.tend_leases()
    pinned.tend_leases()
    anywhere.tend_leases()  # 'pinned' wants its share of modem-1 (1 line): given back
    pinned.tend_leases()
    assert held(pinned) == ["modem-1"] and held(anywhere) == ["sim"]
    assert WorkerProcess.objects.get(id=pinned.id).eligible == ["modem-1"]


def held(w: Worker) -> list[str]:
    return sorted(name for name, lease in w.leases.items() if lease.held)


def test_the_passerelles_page_shows_every_host_and_who_drives_each_line(admin_client) -> None:  # type: ignore[no-untyped-def]
    here = worker("simulator")
    gateway_state.register_all([("simulator", "simulator")])
    here.tend_leases()
    now = timezone.now()
    WorkerProcess.objects.create(
        id="far",
        hostname="pi-garage",
        pid=4242,
        gateways=[],
        eligible=["modem-garage"],
        version="0.1.0",
        started_at=now,
        heartbeat_at=now - timedelta(seconds=3),
    )
    html = admin_client.get("/gateways/").content.decode()
    assert "pi-garage" in html and "4242" in html and "modem-garage" in html
    assert here.holder.host in html and str(here.holder.pid) in html
    assert f"{here.holder.host} (pid {here.holder.pid})" in html  # the simulator's driver


def test_four_lines_three_workers_each_drives_one_or_two() -> None:
    lines = ("sim-1", "sim-2", "sim-3", "sim-4")
    workers = [worker(*lines) for _ in range(3)]
    for _round in range(3):
        for w in workers:
            w.tend_leases()
    shares = sorted(len(held(w)) for w in workers)
    assert shares == [1, 1, 2]
    assert sorted(line for w in workers for line in held(w)) == list(lines)


def test_a_line_to_give_back_in_the_middle_of_a_round_is_kept_if_no_longer_wanted() -> None:
    """Found by tests/ops/test_scale_out.py: a line asked to leave while its gateway thread
    was busy, then no longer wanted elsewhere, stayed held and undriven for good."""
    busy, idle = worker("l1", "l2"), worker("l1", "l2")
    busy.tend_leases()
    idle.tend_leases()  # holds nothing: busy should give one back
    assert busy.leases["l1"].begin() and busy.leases["l2"].begin()  # both in a hand-over
    busy.tend_leases()
    assert held(busy) == ["l1", "l2"]  # not given back in the middle of a round
    busy.leases["l1"].end()
    busy.leases["l2"].end()
    assert not busy.leases["l2"].begin()  # to be given back: no new round
    idle.join(grace=0)  # the other worker stops: nobody wants them now
    busy.tend_leases()
    assert held(busy) == ["l1", "l2"]
    assert busy.leases["l1"].begin() and busy.leases["l2"].begin()
