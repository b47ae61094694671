"""Line leases: which worker drives which line, with PostgreSQL (or SQLite) as the only
coordination (docs/scaling.md). The only code that writes `LineLease`.

A line (one entry of SMSDESK_GATEWAYS: a modem, a bind, the simulator) is driven by one worker
at a time: the one whose lease row names it and has not expired. Times are the database's
clock (PostgreSQL's `statement_timestamp()`), so hosts whose clocks drift apart still agree
on when a lease runs out. Taking a line is one conditional `UPDATE ... WHERE expires_at <
now OR worker_id = me`: of two workers racing for it, PostgreSQL re-checks the condition
on the row the first one wrote, and the second updates nothing.

The holder keeps its own deadline on its monotonic clock, from the moment *before* it asked
the database: it stops handing over while a safety margin (a third of the lease) is still
left, so a worker paused too long, or cut from the database, stops driving before anyone
can take the line.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from smsdesk.worker.models import LineLease

# A lease released by a worker that stops cleanly: anyone allowed takes it at once.
FREE = datetime(2000, 1, 1, tzinfo=UTC)


def database_now() -> datetime:
    """The database's clock (PostgreSQL); SQLite has one host, whose clock it is."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


@dataclass(frozen=True)
class Holder:
    worker_id: str
    host: str
    pid: int


def take(
    line: str, holder: Holder, *, now: datetime, seconds: float, orphan_only: bool = False
) -> bool:
    """Take `line` for `seconds` if nobody holds it (its lease expired, or never was); with
    `orphan_only`, only when it has been free for a whole lease already (nobody else who may
    drive it took it meanwhile). True when it is ours."""
    LineLease.objects.bulk_create(
        [LineLease(line=line, taken_at=FREE, expires_at=FREE)], ignore_conflicts=True
    )
    free_since = now - timedelta(seconds=seconds) if orphan_only else now
    return (
        LineLease.objects.filter(line=line)
        .filter(Q(expires_at__lt=free_since) | Q(worker_id=holder.worker_id))
        .update(
            worker_id=holder.worker_id,
            host=holder.host[:255],
            pid=holder.pid,
            taken_at=now,
            expires_at=now + timedelta(seconds=seconds),
        )
        == 1
    )


def renew(lines: Iterable[str], holder: Holder, *, now: datetime, seconds: float) -> set[str]:
    """Extend our leases of `lines`; returns those still ours (a line whose row names someone
    else was taken after our lease ran out: it is not ours any more)."""
    lines = list(lines)
    if not lines:
        return set()
    mine = LineLease.objects.filter(line__in=lines, worker_id=holder.worker_id)
    mine.update(expires_at=now + timedelta(seconds=seconds))
    return set(mine.values_list("line", flat=True))


def release(lines: Iterable[str], holder: Holder, *, now: datetime | None = None) -> int:
    """Give our leases of `lines` up: at once for anyone (`now` None: the worker stops), or
    from `now` on for a worker below its share (rebalancing)."""
    return LineLease.objects.filter(line__in=list(lines), worker_id=holder.worker_id).update(
        expires_at=now or FREE
    )


def expire_dead_on_host(host: str, *, is_alive: Callable[[int], bool], me: str) -> list[str]:
    """Leases held by a process of this host that no longer exists (killed, crashed): the
    kernel says so, no need to wait for them to run out. Returns their lines."""
    dead = [
        (line, worker_id)
        for line, worker_id, pid in LineLease.objects.filter(host=host)
        .exclude(worker_id__in=["", me])
        .values_list("line", "worker_id", "pid")
        if not process_alive(worker_id, pid, is_alive)
    ]
    for line, worker_id in dead:
        LineLease.objects.filter(line=line, worker_id=worker_id).update(expires_at=FREE)
    return [line for line, _ in dead]


def holders(now: datetime | None = None) -> dict[str, LineLease]:
    """The lines some worker holds now, by line."""
    now = now or timezone.now()
    return {
        lease.line: lease
        for lease in LineLease.objects.filter(expires_at__gt=now).exclude(worker_id="")
    }


# The workers running in this process (one in production; several in tests).
IN_THIS_PROCESS: set[str] = set()


def process_alive(worker_id: str, pid: int, is_alive: Callable[[int], bool]) -> bool:
    """Whether the worker `worker_id`, whose process on this host had `pid`, still runs. Our
    own pid under a worker id that is not one of ours: that worker was this process's
    predecessor (a container's pid is the same at every restart)."""
    if pid == os.getpid():
        return worker_id in IN_THIS_PROCESS
    return is_alive(pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fair_share(lines: int, workers: int) -> int:
    return math.ceil(lines / max(1, workers))


class Lease:
    """The worker's side of one line's lease, shared by its gateway thread (which asks it
    before each hand-over) and the thread that renews it.

    `begin()` / `end()` bracket each round of the gateway thread (of each lane's thread, for
    a line of several binds): a lease given up for rebalancing is given up when no round is
    in progress, never in the middle of a hand-over."""

    def __init__(
        self, line: str, seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.line = line
        self.seconds = seconds
        self.margin = seconds / 3  # what a hand-over may take, at most, before the lease ends
        self.clock = clock
        self._lock = threading.Lock()
        self._deadline = 0.0  # monotonic: when the lease may have run out, as far as we know
        self._held = False
        self._busy = 0  # rounds in progress (a line of several lanes: one per lane)
        self._leaving = False

    # --- the gateway thread -------------------------------------------------------------

    def valid(self) -> bool:
        """Ours, with more than the margin left: a hand-over may begin."""
        return self._held and self.clock() < self._deadline - self.margin

    def begin(self) -> bool:
        with self._lock:
            if self._leaving or not self.valid():
                return False
            self._busy += 1
            return True

    def end(self) -> None:
        with self._lock:
            self._busy = max(0, self._busy - 1)

    # --- the lease thread -----------------------------------------------------------------

    @property
    def held(self) -> bool:
        return self._held

    def granted(self, asked_at: float) -> None:
        """The database gave (or extended) it; `asked_at` is when we asked (monotonic)."""
        with self._lock:
            self._held = True
            self._deadline = asked_at + self.seconds

    def lost(self) -> None:
        with self._lock:
            self._held = False
            self._leaving = False

    def stay(self) -> None:
        """Keep it after all (asked to leave during a round, no longer wanted elsewhere)."""
        with self._lock:
            self._leaving = False

    def leave(self) -> bool:
        """Give it up, unless a round is in progress (then after it: call again). True when
        the gateway thread will not begin another round."""
        with self._lock:
            if self._busy:
                self._leaving = True
                return False
            self._held = False
            self._leaving = False
            return True


def live_overlap(
    workers: Sequence[tuple[str, list[str] | None, list[str]]], me: str, mine: set[str]
) -> list[tuple[str, list[str] | None, set[str]]]:
    """Of the running workers (id, eligible, held), the others that may drive one of our
    lines (eligible None: a worker older than the leases, any line)."""
    return [
        (worker_id, eligible, set(held))
        for worker_id, eligible, held in workers
        if worker_id != me and (eligible is None or mine & set(eligible))
    ]
