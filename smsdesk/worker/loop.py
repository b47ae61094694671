"""The worker process: one thread per gateway, plus housekeeping.

Each gateway thread starts its gateway (again and again, with back-off, while it cannot be
reached), then loops on: record what the network said (inbound SMS first, so a STOP is
stored before anything is claimed; status reports, calls) and acknowledge it to the gateway
once committed; claim a batch; read the network once more and check the STOP list for the
batch (what opted out meanwhile is `blocked`, never handed over); hand the rest over,
recording the results in small groups as the network acknowledges them (`progress`); record
the remainder. Keeping a gateway's events on its own thread keeps them in order with its
sends, and a slow modem never holds up an SMPP bind.

What the thread knows and the database does not yet (results of a hand-over, events) stays
in memory while the database is away, and is written when it is back: a worker that lives
never leaves a message `sending`. The main thread keeps the worker's heartbeat (with each
gateway's state), and marks the messages of dead workers `unknown`.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_noop

import smsdesk
from smsdesk.core import once
from smsdesk.gateways.base import (
    DeliveryState,
    Gateway,
    GatewayError,
    GatewayEvent,
    GatewayUnavailable,
    Outcome,
    SendResult,
    StatusReport,
)
from smsdesk.mail.delivery import Sender as MailSender
from smsdesk.messaging import (
    gateway_state,
    lifecycle,
    lines,
    outbox,
    receiving,
    recurring,
    routing,
    stats,
    stop,
)
from smsdesk.messaging.models import UnmatchedReport
from smsdesk.notify import notices
from smsdesk.retention import services as retention
from smsdesk.sms.routing import Health as Figures
from smsdesk.sms.routing import Window
from smsdesk.webhooks.delivery import Dispatcher
from smsdesk.worker import callbacks, leases
from smsdesk.worker.inbound import EventHandler
from smsdesk.worker.leases import Holder, Lease
from smsdesk.worker.models import LineLease, WorkerProcess
from smsdesk.worker.pacing import Backoff, RateLimiter
from smsdesk.worker.services import HEARTBEAT_EVERY, heartbeat_timeout
from smsdesk.worker.turns import write_turn

log = logging.getLogger(__name__)

# Keeps the gateway's own words (so not translated when shown).
GATEWAY_BROKE = "The gateway failed while sending (%s): it may or may not have been sent."
STOPPED_MID_HANDOVER = gettext_noop(
    "The worker was stopped while the gateway had this message: it may or may not have "
    "been sent. It is not sent again on its own; check with the recipient, then retry if "
    "needed."
)
# How often the mail notifications are looked at (seconds).
NOTICES_EVERY = 2.0
# How often the stored reports that wait for their part are looked at, at the least.
UNMATCHED_EVERY = 10.0
# Results acknowledged during a hand-over are recorded in groups of this many, or after this
# long: a kill then loses (to `unknown`) at most that, not the whole batch.
PROGRESS_GROUP = 100
PROGRESS_EVERY = 0.2
# How often the failover looks at the lines (messaging/routing.py).
ROUTING_EVERY = 2.0
# The watch's figures are written for the Passerelles page at most this often.
HEALTH_EVERY = 5.0


class State:
    STARTING = "starting"  # not started yet, or waiting to try again
    UP = "up"
    DOWN = "down"  # cannot be reached: retried with back-off
    BROKEN = "broken"  # wrong configuration: not retried on its own


@dataclass
class _Unrecorded:
    """What a hand-over produced and the database does not know yet: results, and the
    messages (of `attempts`) without one."""

    results: list[SendResult]
    attempts: dict[int, int]
    release_reason: str = ""  # set: those without a result were not handed over: put back
    unknown_reason: str = ""  # set: cannot tell what went of those without one: `unknown`
    usage: int = 0  # SMS parts that may have left us: the line's use (its volume limits)


class SharedWindow:
    """The watch's window of a line driven by several lanes (one thread per SMPP bind):
    one `Window` for the whole line, each lane adding its results under a lock."""

    def __init__(self, size: int) -> None:
        self._window = Window(size)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._window.clear()

    def add(
        self, message_id: int, outcome: str, *, refs: Sequence[str] = (), at: float = 0.0
    ) -> None:
        with self._lock:
            self._window.add(message_id, outcome, refs=refs, at=at)

    def report(self, ref: str, *, failed: bool, at: float) -> None:
        with self._lock:
            self._window.report(ref, failed=failed, at=at)

    def health(self) -> Figures:
        with self._lock:
            return self._window.health()


class Line:
    """What the lanes of one line share when it has several (`Gateway.lanes()`: an SMPP
    line of N binds is driven by N threads, one per bind, each with its own database
    connection, claiming at most its bind's window): the watch, the line's state as the
    Passerelles page shows it, its inbound SMS (recorded by whichever lane looks first:
    each looks before it claims and before it hands over), and locks.

    - `claim_lock`: a lane's claim and what it then holds are one step for the others: a
      lane that releases what this worker claimed but holds no more (`release_unheld`,
      after a database error) never releases what another lane has just claimed.
    - `limit_lock`: a line with volume limits hands over through one lane at a time, each
      reading what is left after the last one counted its use: no limit is overshot by
      lanes sending at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runners: list[GatewayRunner] = []
        self.window = SharedWindow(settings.SMSDESK_WATCH_MESSAGES)
        self.claim_lock = threading.Lock()
        self.limit_lock = threading.Lock()
        # Its events but the delivery reports (inbound SMS, Health), whichever bind they
        # came by: recorded by one lane at a time (`inbound_lock`).
        self.events: queue.SimpleQueue[GatewayEvent] = queue.SimpleQueue()
        self.inbound_lock = threading.Lock()

    def held_by_others(self, me: GatewayRunner) -> set[int]:
        """What the other lanes claimed and have not finished recording."""
        return {i for r in self.runners if r is not me for i in r.holding}

    def state_row(self) -> tuple:
        """The line is down when all its lanes are: else it is up (a lost bind shows in
        the line's Health, `n/N binds up`)."""
        rows = [r.state_row() for r in self.runners]
        up = [row for row in rows if not row[0]]
        return up[0] if up else rows[0]


def _reset_connection() -> None:
    try:
        connection.close()
    except Exception:
        log.debug("closing a dead database connection failed", exc_info=True)


class GatewayRunner(threading.Thread):
    def __init__(
        self,
        gateway: Gateway,
        worker_id: str,
        stopping: threading.Event,
        idle_sleep: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        retry_first: float = 1.0,
        lease: Lease | None = None,
        line: Line | None = None,
    ) -> None:
        lane = f"-{len(line.runners) + 1}" if line is not None else ""
        super().__init__(name=f"gateway-{gateway.name}{lane}", daemon=True)
        self.gateway = gateway
        # One lane of a line driven by several (None: the whole line).
        self.line = line
        if line is not None:
            line.runners.append(self)
        # The line's lease (None: driven without one, as the tests' single runner is): the
        # runner drives the gateway only while it holds it (worker/leases.py).
        self.lease = lease
        self.worker_id = worker_id
        self.stopping = stopping
        self.idle_sleep = idle_sleep
        self.clock = clock
        self.events: queue.SimpleQueue[GatewayEvent] = queue.SimpleQueue()
        self.wake = threading.Event()
        self.handler = EventHandler()
        self.limiter = RateLimiter(gateway.rate, gateway.batch_size, clock=clock)
        self.sent = 0
        # The gateway's state, as the heartbeat and the banner show it.
        self.state = State.STARTING
        self.reason = ""
        self.down_since: datetime | None = None
        self._gateway_backoff = Backoff(first=retry_first)
        self._retry_at = 0.0
        self._published: tuple | None = None  # the state last written to the database
        # The database's side.
        self._db_backoff = Backoff()
        self._db_down_since: float | None = None
        self._check_claims = True  # a claim may have committed unseen: release it
        self._unmatched_at = 0.0
        self._new_parts = False
        # Held in memory until written.
        self.in_flight: list[int] = []  # ids inside send_many right now
        # The last claim's ids until its results are recorded (what other lanes of the line
        # must not release).
        self.holding: frozenset[int] = frozenset()
        self._unrecorded: _Unrecorded | None = None
        self._unrecorded_events: list[GatewayEvent] = []
        # The watch (messaging/routing.py): the line's last results, judged as they come.
        self.window: Window | SharedWindow = (
            line.window if line is not None else Window(settings.SMSDESK_WATCH_MESSAGES)
        )
        self._paused = False
        self._health_published: tuple | None = None
        self._health_at = 0.0

    def emit(self, event: GatewayEvent) -> None:  # called from any thread
        line = self.line
        if line is not None and not isinstance(event, StatusReport):
            line.events.put(event)  # an inbound SMS (a STOP): for whichever lane looks first
            for runner in line.runners:
                runner.wake.set()
            return
        self.events.put(event)
        self.wake.set()

    # --- the thread ---------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                busy = self.run_once()
                if not busy:
                    self.wake.wait(self.idle_sleep)
                    self.wake.clear()
        finally:
            self._stop_gateway()
            self._last_writes()
            _reset_connection()

    def run_once(self) -> bool:
        """One step, surviving anything the database throws (lost connection, busy)."""
        try:
            busy = self.step()
        except Exception as e:  # an OperationalError must never end the worker
            delay = self._db_backoff.next_delay()
            if self._db_down_since is None:
                self._db_down_since = self.clock()
                log.exception(
                    "gateway %s: database error, retrying in %.1f s", self.gateway.name, delay
                )
            else:
                log.warning(
                    "gateway %s: database still failing (%s), retrying in %.1f s",
                    self.gateway.name,
                    e,
                    delay,
                )
            self._check_claims = True
            _reset_connection()
            self.stopping.wait(delay)
            return False
        if self._db_down_since is not None:
            log.warning(
                "gateway %s: database back after %.0f s",
                self.gateway.name,
                self.clock() - self._db_down_since,
            )
            self._db_down_since = None
            self._db_backoff.reset()
        return busy

    def step(self) -> bool:
        """One round; True when there may be more work right away."""
        self._flush_results()  # what the last hand-over said comes first
        if self.lease is None:
            return self._drive()
        if not self.lease.begin():
            self._stand_by()
            return False
        try:
            return self._drive()
        finally:
            self.lease.end()

    def _stand_by(self) -> None:
        """Another worker drives the line, or may soon: let go of the gateway (a modem's
        port), and write what it told us while we drove it."""
        if self.state != State.STARTING:
            log.info("gateway %s: not ours now (lease), letting it go", self.gateway.name)
            self._stop_gateway()
            self.state = State.STARTING
            self._retry_at = 0.0
            self._published = None
        self.drain_events()
        if self._unrecorded_events:
            raise RuntimeError("events could not be recorded")  # back off, then again

    def _drive(self) -> bool:
        if self._check_claims:
            if self.line is None:
                outbox.release_unheld(
                    worker_id=self.worker_id, gateway=self.gateway.name, held=(), now=timezone.now()
                )
            else:
                with self.line.claim_lock:
                    outbox.release_unheld(
                        worker_id=self.worker_id,
                        gateway=self.gateway.name,
                        held=self.line.held_by_others(self),
                        now=timezone.now(),
                    )
                    self.holding = frozenset()
            self._check_claims = False
        self._ensure_started()
        self._publish_state()
        claimed = 0
        allowance = 0
        had_events = False
        if self.state == State.UP:
            had_events = self.read_network()  # a STOP is stored before we claim
            allowance = self.limiter.allowance()
            # Paused: nothing; else what its volume limits leave, in SMS parts (None: none).
            paused, parts_left = routing.line_state(self.gateway.name)
            if self._paused and not paused:
                self.window.clear()  # resumed: judged on what it sends from now on
            self._paused = paused
            if paused:
                allowance = 0
            elif parts_left is not None:
                allowance = min(allowance, parts_left)
            if allowance >= 1 and parts_left is not None and self.line is not None:
                # Volume limits: one lane at a time, on what the others left.
                with self.line.limit_lock:
                    paused, parts_left = routing.line_state(self.gateway.name)
                    if not paused and parts_left is not None:
                        allowance = min(allowance, parts_left)
                    if not paused and allowance >= 1:
                        claimed = self.send_batch(allowance, parts_left=parts_left)
            elif allowance >= 1:
                claimed = self.send_batch(allowance, parts_left=parts_left)
        had_events = self.drain_events() or had_events
        if self._unrecorded_events:
            raise RuntimeError("events could not be recorded")  # back off, then again
        self._match_unmatched()
        if self.state == State.UP and claimed and claimed == allowance:
            wait = self.limiter.wait_time()
            if wait > 0:
                self.stopping.wait(wait)
        return (self.state == State.UP and claimed > 0) or had_events

    # --- the gateway's life ---------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self.state in (State.UP, State.BROKEN) or self.clock() < self._retry_at:
            return
        try:
            self.gateway.start(self.emit)
        except GatewayUnavailable as e:
            self._went_down(str(e), retry=True)
        except GatewayError as e:
            self._went_down(str(e), retry=False)
        except Exception as e:
            log.exception("gateway %s: start failed", self.gateway.name)
            self._went_down(str(e) or type(e).__name__, retry=True)
        else:
            log.info("gateway %s started", self.gateway.name)
            self.state = State.UP

    def _went_down(self, reason: str, *, retry: bool) -> None:
        reason = reason or "unreachable"
        if self.state == State.UP:
            self._stop_gateway()
        if self.down_since is None:
            self.down_since = timezone.now()
        self.reason = reason
        if retry:
            self.state = State.DOWN
            delay = self._gateway_backoff.next_delay()
            self._retry_at = self.clock() + delay
            log.warning(
                "gateway %s is down (%s): next try in %.1f s", self.gateway.name, reason, delay
            )
        else:
            self.state = State.BROKEN
            log.error(
                "gateway %s cannot work (%s): fix the configuration and restart",
                self.gateway.name,
                reason,
            )

    def _answered(self) -> None:
        """The gateway took a batch (or had nothing to take): it works."""
        self._gateway_backoff.reset()
        if self.down_since is not None:
            log.warning("gateway %s is back", self.gateway.name)
        self.down_since = None
        self.reason = ""

    def _stop_gateway(self) -> None:
        try:
            self.gateway.stop()
        except Exception:
            log.exception("gateway %s: stop failed", self.gateway.name)

    def state_row(self) -> tuple:
        """(down, reason, since, retrying): what the database should say of the gateway."""
        down = self.down_since is not None
        return (down, self.reason, self.down_since, self.state != State.BROKEN)

    def _publish_state(self, *, force: bool = False) -> None:
        row = self.line.state_row() if self.line is not None else self.state_row()
        if row == self._published and not force:
            return
        down, reason, since, retrying = row
        if down:
            gateway_state.mark_down(
                self.gateway.name, reason=reason, since=since, retrying=retrying
            )
        elif self.state == State.UP:
            gateway_state.mark_up(self.gateway.name)
        self._published = row

    # --- sending --------------------------------------------------------------------------

    def read_network(self) -> bool:
        """Record what the gateway has for us (inbound SMS first); raises when some of it
        could not be recorded: nothing is claimed or handed over before a STOP is stored."""
        self.gateway.poll()
        had_events = self.drain_events()
        if self._unrecorded_events:
            raise RuntimeError("events could not be recorded")  # back off, then again
        return had_events

    def send_batch(self, limit: int, *, parts_left: int | None = None) -> int:
        """Claim up to `limit` due messages, hand them over, record what happened. With
        `parts_left` (the line's volume limits), only as many SMS parts as that are handed
        over; the rest of the claim goes back to the queue at once, untouched."""
        if self.line is None:
            with write_turn():
                claimed = lifecycle.claim(
                    gateway=self.gateway.name,
                    worker_id=self.worker_id,
                    limit=limit,
                    now=timezone.now(),
                )
        else:
            with self.line.claim_lock, write_turn():
                claimed = lifecycle.claim(
                    gateway=self.gateway.name,
                    worker_id=self.worker_id,
                    limit=limit,
                    now=timezone.now(),
                )
                self.holding = frozenset(c.sms.id for c in claimed)
        # a line shared by several organisations: each message with its organisation's sender
        claimed = lines.with_senders(self.gateway.name, claimed)
        if not claimed:
            self._answered()
            return 0
        if parts_left is not None:
            kept, total = [], 0
            for c in claimed:
                if total + c.segments > parts_left:
                    break
                kept.append(c)
                total += c.segments
            over = [c.sms.id for c in claimed[len(kept) :]]
            if over:
                lifecycle.release(over, reason="", now=timezone.now())
            claimed = kept
            self.holding = frozenset(c.sms.id for c in kept)
            if not claimed:
                return 0
        # Immediately before the hand-over: what the network said meanwhile, then the STOP
        # list for this batch (a STOP stored while we claimed). If this fails, the batch is
        # released by `release_unheld`: nothing of it was handed over.
        self.read_network()
        if self.lease is not None and not self.lease.valid():
            # The lease may run out during the hand-over: another worker could take the line
            # meanwhile. Nothing of this batch left us: back to the queue.
            lifecycle.release([c.sms.id for c in claimed], reason="", now=timezone.now())
            self.holding = frozenset()
            log.warning("gateway %s: lease about to run out, batch put back", self.gateway.name)
            return 0
        blocked = stop.block_at_handover(claimed, at=timezone.now())
        batch = [c for c in claimed if c.sms.id not in blocked]
        attempts = {c.sms.id: c.attempts for c in batch}
        self.in_flight = list(attempts)
        progress = _Progress(self, attempts)
        kept_back: set[int] = set()  # never handed over: not counted in the line's use
        results_seen: list[SendResult] = []
        broke: Exception | None = None
        link_lost = False  # the gateway lost its link during the batch and said so
        try:
            results = self.gateway.send_many([c.sms for c in batch], progress) if batch else []
        except GatewayUnavailable as e:
            link_lost = True
            rest = progress.unreported()
            kept_back.update(rest)
            self._unrecorded = progress.remainder([], release_reason=str(e) or "unreachable")
            self.limiter.refund(len(rest))
            self._went_down(str(e), retry=True)
        except Exception as e:  # the gateway cannot tell which of the rest went out
            broke = e
            log.exception("gateway %s failed in send_many", self.gateway.name)
            self._unrecorded = progress.remainder([], unknown_reason=GATEWAY_BROKE % e)
            self._went_down(str(e) or type(e).__name__, retry=True)
        else:
            results_seen = list(results)
            self._unrecorded = progress.remainder(results)
            not_handed = [r for r in results if r.outcome is Outcome.NOT_HANDED_OVER]
            kept_back.update(r.message_id for r in not_handed)
            if not_handed:
                link_lost = True
                self.limiter.refund(len(not_handed))
                self._went_down(not_handed[0].error, retry=True)
            else:
                self._answered()
        finally:
            self.in_flight = []
        self.limiter.spend(len(attempts))
        self.sent += len(attempts)
        kept_back.update(
            i for i, r in progress.reported.items() if r.outcome is Outcome.NOT_HANDED_OVER
        )
        # Counted in the results' transaction (`_flush_results`): one commit for both.
        assert self._unrecorded is not None
        self._unrecorded.usage += sum(c.segments for c in batch if c.sms.id not in kept_back)
        self._watch_results(
            {**progress.reported, **{r.message_id: r for r in results_seen}},
            unknown=[] if broke is None else progress.unreported(),
            link_lost=link_lost,
        )
        self._flush_results()
        self._judge()
        return len(claimed)

    def _watch_results(
        self, results: dict[int, SendResult], *, unknown: Sequence[int], link_lost: bool = False
    ) -> None:
        """What the watch judges of a batch. When the gateway lost its link and said so (an
        SMSC restarted, a modem unplugged), the messages in flight are `unknown` for the user
        but are not held against the line: it is down, retried with back-off and reported as
        down; judging them would pause a line that works again once reconnected (a full SMPP
        window is 20 of the last 50 results). A result may say so itself (`link_lost`): an
        SMPP bind that broke with its whole window in flight, nothing left to tell it by."""
        now = self.clock()
        for message_id, r in results.items():
            if r.outcome is Outcome.ACCEPTED:
                self.window.add(message_id, "ok", refs=r.references, at=now)
            elif r.outcome is Outcome.REFUSED and r.permanent:
                self.window.add(message_id, "failed")
            elif r.outcome is Outcome.MAYBE_HANDED_OVER and not (link_lost or r.link_lost):
                self.window.add(message_id, "unknown", refs=r.references, at=now)
        for message_id in unknown:
            if message_id not in results:
                self.window.add(message_id, "unknown")

    def _judge(self) -> None:
        """The watch: pause the line when its last results are over a threshold; publish
        its figures for the Passerelles page (when they change, every few seconds)."""
        if self._paused:
            return
        figures = self.window.health()
        try:
            if routing.judge(self.gateway.name, figures):
                self._paused = True
                self.window.clear()
                return
            shown = (figures.results, figures.failed, figures.unknown, figures.report_delay)
            if shown != self._health_published and self.clock() >= self._health_at:
                routing.publish_health(self.gateway.name, figures)
                self._health_published = shown
                self._health_at = self.clock() + HEALTH_EVERY
        except Exception:
            log.warning("gateway %s: the watch could not write", self.gateway.name, exc_info=True)
            _reset_connection()

    def _count_parts(self, parts: int) -> None:
        """The line's use (its volume limits): the parts of what may have left us."""
        try:
            routing.record_usage(self.gateway.name, parts, now=timezone.now())
        except Exception:
            log.warning(
                "gateway %s: its use could not be counted", self.gateway.name, exc_info=True
            )
            _reset_connection()

    def _flush_results(self) -> None:
        pending = self._unrecorded
        if pending is None:
            return
        now = timezone.now()
        if pending.results:
            # The delivery reports that came meanwhile (an SMSC answers many at once, right
            # after the submit_sm_resp) go in the results' transaction: one commit for both,
            # and their parts are there already. Acknowledged to the gateway only after it.
            reports = self._take_reports()
            unmatched: list[StatusReport] = []
            usage = pending.usage

            def with_results(cursor: lifecycle.Cursor) -> None:
                if reports:
                    unmatched[:] = outbox.record_reports_in(cursor, reports)
                # Last, just before the commit: the lanes of a line grow the same row, each
                # waiting for the other's commit only, never holding it while it waits.
                if usage:
                    routing.record_usage(self.gateway.name, usage, now=now)

            try:
                with write_turn():
                    lifecycle.record_results(
                        pending.results,
                        attempts=pending.attempts,
                        now=now,
                        gateway=self.gateway.name,
                        then=with_results if (reports or usage) else None,
                    )
            except BaseException:
                self._unrecorded_events.extend(reports)  # written by drain_events later
                raise
            pending.usage = 0  # counted: not again if what follows fails and is tried again
            self._new_parts = self._new_parts or any(r.references for r in pending.results)
            if reports:
                self.handler.stored_unmatched = self.handler.stored_unmatched or bool(unmatched)
                self._note_reports(reports)
                self._acknowledge(reports)
        answered = {r.message_id for r in pending.results}
        without = [i for i in pending.attempts if i not in answered]
        if pending.release_reason:
            lifecycle.release(without, reason=pending.release_reason, now=now)
        elif pending.unknown_reason:
            lifecycle.record_unknown(without, reason=pending.unknown_reason, now=now)
        self._unrecorded = None
        if not self.in_flight:
            self.holding = frozenset()  # all recorded: nothing of ours for the others to keep
        if pending.usage:  # no result to write it with (all recorded during the hand-over)
            self._count_parts(pending.usage)

    def _match_unmatched(self) -> None:
        """Reports stored before their part was: try them when new parts were recorded,
        and every UNMATCHED_EVERY seconds (another process may have recorded them)."""
        due = self.clock() >= self._unmatched_at
        if not due and not (self.handler.stored_unmatched and self._new_parts):
            return
        self._new_parts = False
        outbox.match_unmatched(self.gateway.name)
        self.handler.stored_unmatched = UnmatchedReport.objects.filter(
            gateway_id=self.gateway.name
        ).exists()
        self._unmatched_at = self.clock() + UNMATCHED_EVERY

    # --- events ---------------------------------------------------------------------------

    def drain_events(self) -> bool:
        if self.line is None:
            return self._drain_events()
        # The line's inbound SMS, whichever bind they came by, one lane at a time: each
        # lane stores them before it claims and before it hands over, so a STOP that came
        # by another bind is stored before this lane's STOP check.
        with self.line.inbound_lock:
            return self._drain_events(self.line.events)

    def _drain_events(self, shared: queue.SimpleQueue[GatewayEvent] | None = None) -> bool:
        events, self._unrecorded_events = self._unrecorded_events, []
        for source in (self.events, shared) if shared is not None else (self.events,):
            while True:
                try:
                    events.append(source.get_nowait())
                except queue.Empty:
                    break
        if not events:
            return False
        reports = [e for e in events if isinstance(e, StatusReport)]
        if reports:
            self._note_reports(reports, judge=False)
        # Kept in memory until recorded: the database may be away for a moment.
        recorded, self._unrecorded_events = self.handler.record(events)
        if reports:
            self._judge()
        if recorded:
            self._acknowledge(recorded)
        return bool(recorded)

    def _take_reports(self) -> list[StatusReport]:
        """The delivery reports waiting in the events' queue; the other events stay to be
        recorded by `drain_events`, in their order (inbound SMS first there)."""
        reports: list[StatusReport] = []
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, StatusReport):
                reports.append(event)
            else:
                self._unrecorded_events.append(event)
        return reports

    def _note_reports(self, reports: Sequence[StatusReport], *, judge: bool = True) -> None:
        """The watch's side of delivery reports (the line's report delay, its failures)."""
        now = self.clock()
        for report in reports:
            self.window.report(
                report.reference, failed=report.state is DeliveryState.FAILED, at=now
            )
        if judge:
            self._judge()

    def _acknowledge(self, recorded: Sequence[GatewayEvent]) -> None:
        """Committed: the gateway may tell the network (SMPP's deliver_sm_resp)."""
        try:
            self.gateway.acknowledge(recorded)
        except Exception:
            log.exception("gateway %s: acknowledge failed", self.gateway.name)

    def _last_writes(self) -> None:
        """Stopping: write what we still hold, if the database lets us."""
        try:
            self._flush_results()
            self.drain_events()
        except Exception:
            log.exception(
                "gateway %s: could not record everything before stopping", self.gateway.name
            )


class Worker:
    def __init__(
        self,
        gateways: Sequence[Gateway],
        *,
        idle_sleep: float = 0.5,
        retry_first: float = 1.0,
        eligible: Sequence[str] | None = None,
    ) -> None:
        self.gateways = list(gateways)
        self.idle_sleep = idle_sleep
        self.retry_first = retry_first  # seconds before a gateway that failed is tried again
        self.id = uuid.uuid4().hex
        self.stopping = threading.Event()
        self.runners: list[GatewayRunner] = []
        # Webhook deliveries: their own thread and pool, so a slow receiver never holds up
        # a gateway (webhooks/delivery.py).
        self.webhooks: Dispatcher | None = None
        # Mail from the outbox: its own thread, so an absent mail server delays only mail.
        self.mail: MailSender | None = None
        self._last_heartbeat = timezone.now()
        self._last_notices = 0.0
        self._started = False
        self._routed_at = 0.0
        # One lease per line this worker may drive (SMSDESK_WORKER_LINES; `eligible`, when
        # given, is what it says: only those gateways are built).
        self.holder = Holder(self.id, settings.SMSDESK_HOST, os.getpid())
        self.lease_seconds = float(settings.SMSDESK_LINE_LEASE_SECONDS)
        self.leases = {g.name: Lease(g.name, self.lease_seconds) for g in self.gateways}
        self.eligible = list(eligible) if eligible is not None else list(self.leases)
        self._lease_thread: threading.Thread | None = None
        self._tending = threading.Lock()
        leases.IN_THIS_PROCESS.add(self.id)

    def run(self) -> None:
        """Run until `stop()` (or SIGTERM/Ctrl-C handled by the caller)."""
        self.start()
        try:
            while not self.stopping.wait(self.idle_sleep):
                self.housekeeping()
        finally:
            self.join()

    def start(self) -> None:
        # One thread per lane: a line's own, or, for an SMPP line of several binds, one per
        # bind (`Gateway.lanes()`), sharing the line's lease, watch and state (`Line`).
        self.runners = []
        for g in self.gateways:
            lanes = g.lanes()
            line = Line(g.name) if len(lanes) > 1 else None
            self.runners += [
                GatewayRunner(
                    lane,
                    self.id,
                    self.stopping,
                    self.idle_sleep,
                    retry_first=self.retry_first,
                    lease=self.leases[g.name],
                    line=line,
                )
                for lane in lanes
            ]
        # The database may be away as we start: the housekeeping tries again.
        self._start_bookkeeping()
        for runner in self.runners:
            runner.start()
        self._lease_thread = threading.Thread(target=self._keep_leases, name="leases", daemon=True)
        self._lease_thread.start()
        self.webhooks = Dispatcher(self.stopping, idle_sleep=self.idle_sleep)
        self.webhooks.start()
        self.mail = MailSender(self.stopping, idle_sleep=self.idle_sleep)
        self.mail.start()
        log.info(
            "worker %s (%s, pid %d) started for lines %s",
            self.id[:8],
            self.holder.host,
            self.holder.pid,
            ", ".join(g.name for g in self.gateways),
        )

    def _start_bookkeeping(self) -> None:
        try:
            gateway_state.register_all([(g.name, g.kind) for g in self.gateways])
            self.tend_leases()  # takes its lines before its gateway threads look
            self.recover()
            lifecycle.alarm_strays(timezone.now())
            self._started = True
        except Exception:
            log.exception("worker %s: database not ready, trying again", self.id[:8])
            _reset_connection()

    def wake_all(self) -> None:
        for runner in self.runners:
            runner.wake.set()

    def stop(self) -> None:
        self.stopping.set()
        for runner in self.runners:
            runner.wake.set()

    def join(self, grace: float | None = None) -> None:
        """Let each gateway finish its hand-over for up to SMSDESK_STOP_GRACE seconds; what
        is still in a gateway's hands then is marked `unknown` (it may have gone out)."""
        grace = settings.SMSDESK_STOP_GRACE if grace is None else grace
        deadline = time.monotonic() + grace
        for runner in self.runners:
            runner.join(max(0.0, deadline - time.monotonic()))
        if self._lease_thread is not None:
            self._lease_thread.join(max(0.0, deadline - time.monotonic()))
        if self.webhooks is not None:  # a try under way is tried again after its lease
            self.webhooks.join(max(0.0, min(1.0, deadline - time.monotonic())))
        if self.mail is not None:  # a mail being sent is sent again after its lease
            self.mail.wake.set()
            self.mail.join(max(0.0, min(1.0, deadline - time.monotonic())))
        stuck = [i for r in self.runners if r.is_alive() for i in r.in_flight]
        try:
            if stuck:
                count = lifecycle.record_unknown(
                    stuck, reason=STOPPED_MID_HANDOVER, now=timezone.now()
                )
                log.warning(
                    "stopped after %.0f s with %d messages still being handed over: marked "
                    "'unknown' (they may or may not have gone out)",
                    grace,
                    count,
                )
            # Our lines, free for another worker at once (a gateway thread still stuck in a
            # hand-over has had its messages marked `unknown`: never handed over again).
            leases.release(list(self.leases), self.holder)
            WorkerProcess.objects.filter(id=self.id).delete()
        except Exception:
            log.exception("could not mark what was in flight; the next worker will")
        leases.IN_THIS_PROCESS.discard(self.id)
        _reset_connection()

    def housekeeping(self) -> None:
        try:
            if not self._started:
                self._start_bookkeeping()
                return
            if (timezone.now() - self._last_heartbeat).total_seconds() >= HEARTBEAT_EVERY:
                self._last_heartbeat = timezone.now()
                self.recover()
                lifecycle.alarm_strays(timezone.now())
                outbox.purge_unmatched(
                    older_than=timezone.now() - timedelta(hours=settings.SMSDESK_REPORT_TIMEOUT)
                )
                callbacks.purge(
                    older_than=timezone.now() - timedelta(hours=settings.SMSDESK_REPORT_TIMEOUT)
                )
                # A long SMS whose last parts never come is stored once its wait is over,
                # even when no other SMS arrives to trigger it.
                flushed = receiving.flush_incomplete_parts(now=timezone.now())
                if flushed:
                    log.info("stored %d long SMS with missing parts", flushed)
                # The counters the workers appended since: into the per-day table, and the
                # campaigns' counts.
                stats.fold()
                lifecycle.fold_campaign_counts()
                routing.purge_usage(timezone.now())
                once.purge_idempotency_keys()
                # Data retention: one small batch of each organisation per heartbeat, by
                # its own months and mode (sends go on meanwhile).
                retention.step(now=timezone.now())
            # Recurring sends: each due occurrence once (claimed in the database).
            if recurring.fire_due():
                self.wake_all()
            self._route()
            # Mail notifications (copies of received SMS, grouped; a campaign finished; a
            # gateway down): written to the outbox, sent by the mail thread.
            if time.monotonic() - self._last_notices >= NOTICES_EVERY:
                self._last_notices = time.monotonic()
                if notices.step() and self.mail is not None:
                    self.mail.wake.set()
        except Exception:
            log.exception("worker housekeeping failed, retrying")
            _reset_connection()

    def _route(self) -> None:
        """Every ROUTING_EVERY seconds, the failover: what waits on a line that cannot send
        moves to the next of its pool (the watch runs in each line's thread, on its results)."""
        now = time.monotonic()
        if now < self._routed_at:
            return
        self._routed_at = now + ROUTING_EVERY
        if routing.fail_over():
            self.wake_all()

    # --- the heartbeat and the leases, on their own thread and connection -----------------

    def _keep_leases(self) -> None:
        # Renewed every quarter of the lease: with the margin of a third, a renewal may be
        # late by 5/12 of the lease before the gateway threads pause.
        every = max(0.5, self.lease_seconds / 4)
        try:
            while not self.stopping.wait(every):
                try:
                    self.tend_leases()
                except Exception:
                    # Our leases run out on their own (`Lease.valid`): the gateway threads
                    # stop handing over before anyone else may take the lines.
                    log.exception("worker %s: could not renew its leases", self.id[:8])
                    _reset_connection()
        finally:
            _reset_connection()

    def tend_leases(self) -> None:
        """Renew our leases, beat, take the lines nobody drives (up to our share of them),
        give back what is above our share when another worker has less."""
        with self._tending:
            self._tend_leases()

    def _tend_leases(self) -> None:
        asked = time.monotonic()  # before the database's clock: our deadline is the earlier
        now = leases.database_now()
        seconds = self.lease_seconds
        held = {name for name, lease in self.leases.items() if lease.held}
        kept = leases.renew(held, self.holder, now=now, seconds=seconds)
        for name in held:
            if name in kept:
                self.leases[name].granted(asked)
            else:
                log.warning("worker %s: lost the lease of line %s", self.id[:8], name)
                self.leases[name].lost()
        self.register(held=sorted(kept))
        leases.expire_dead_on_host(self.holder.host, is_alive=leases.pid_alive, me=self.id)

        mine = set(self.leases)
        others = leases.live_overlap(
            [
                (w.id, w.eligible, list(w.gateways or []))
                for w in WorkerProcess.objects.filter(
                    heartbeat_at__gte=timezone.now() - heartbeat_timeout()
                )
            ],
            self.id,
            mine,
        )
        share = leases.fair_share(len(mine), 1 + len(others))
        rows = {row.line: row for row in LineLease.objects.filter(line__in=list(mine))}
        for name in sorted(mine - kept):
            row = rows.get(name)
            free = row is None or row.expires_at < now
            if not free:
                continue
            # Below our share: take it. Above: only a line nobody else took for a whole
            # lease (no other worker may drive it, or they are all busy).
            orphan = len(kept) >= share
            if leases.take(name, self.holder, now=now, seconds=seconds, orphan_only=orphan):
                self.leases[name].granted(asked)
                kept.add(name)
                log.info("worker %s (%s) drives line %s", self.id[:8], self.holder.host, name)
        # Give a line back to a worker that may drive it and holds two fewer than us (a
        # modem pinned to its host goes back to that host): the lines even out, one each.
        counts = {w: len(h & mine) for w, _e, h in others}
        for name in sorted(kept, reverse=True):
            taker = next(
                (
                    w
                    for w, eligible, _h in others
                    if (eligible is None or name in eligible) and counts[w] <= len(kept) - 2
                ),
                None,
            )
            if taker is None:
                self.leases[name].stay()  # wanted elsewhere last time, not now
                continue
            if not self.leases[name].leave():
                continue  # a round in progress: given back at the next look, if still wanted
            leases.release([name], self.holder, now=now)
            kept.discard(name)
            counts[taker] += 1
            log.info("worker %s gives line %s back", self.id[:8], name)
        self.register(held=sorted(kept))

    def register(self, *, held: Sequence[str] | None = None) -> None:
        """The heartbeat: this worker is alive, the lines it drives, the state of each."""
        now = timezone.now()
        if held is None:
            held = [name for name, lease in self.leases.items() if lease.held]
        WorkerProcess.objects.update_or_create(
            id=self.id,
            defaults={"heartbeat_at": now, "gateways": list(held)},
            create_defaults={
                "hostname": self.holder.host[:255],
                "pid": self.holder.pid,
                "gateways": list(held),
                "eligible": self.eligible,
                "version": smsdesk.__version__,
                "started_at": now,
                "heartbeat_at": now,
            },
        )
        told: set[str] = set()
        for runner in self.runners:
            if runner.gateway.name not in held or runner.gateway.name in told:
                continue
            told.add(runner.gateway.name)
            row = runner.line.state_row() if runner.line is not None else runner.state_row()
            down, reason, since, retrying = row
            if down:
                gateway_state.mark_down(
                    runner.gateway.name, reason=reason, since=since, retrying=retrying
                )

    def recover(self) -> int:
        """Forget dead workers and mark what they were sending `unknown`."""
        now = timezone.now()
        live = []
        for w in WorkerProcess.objects.all():
            if w.id == self.id or _is_alive(w, now, self.holder.host):
                live.append(w.id)
            else:
                w.delete()
        count = lifecycle.recover_in_flight(live_workers=live, now=now)
        if count:
            log.warning("%d messages left in flight by a stopped worker are now 'unknown'", count)
        return count


def _is_alive(w: WorkerProcess, now: datetime, host: str) -> bool:
    if now - w.heartbeat_at > heartbeat_timeout():
        return False
    if w.hostname == host:
        # Same host: no need to wait for the heartbeat to age, ask the kernel. Our own pid
        # under another worker's id: that worker was us before a restart (a container's pid
        # is the same every time).
        return leases.process_alive(w.id, w.pid, leases.pid_alive)
    return True


class _Progress:
    """The `progress` callback of one hand-over: records the results the network
    acknowledges in groups (PROGRESS_GROUP, or every PROGRESS_EVERY seconds) while the
    hand-over goes on. A group that cannot be written (the database is away) is kept, and
    written with the rest once the hand-over is over."""

    def __init__(self, runner: GatewayRunner, attempts: dict[int, int]) -> None:
        self.runner = runner
        self.attempts = attempts
        self.reported: dict[int, SendResult] = {}
        self.recorded: set[int] = set()
        self._waiting: list[SendResult] = []
        self._since = runner.clock()

    def __call__(self, results: Sequence[SendResult]) -> None:
        for r in results:
            if r.message_id in self.attempts and r.message_id not in self.reported:
                self.reported[r.message_id] = r
                self._waiting.append(r)
        due = self.runner.clock() - self._since >= PROGRESS_EVERY
        at_once = self.runner.gateway.record_progress_at_once
        if len(self._waiting) >= PROGRESS_GROUP or ((due or at_once) and self._waiting):
            self._record()

    def _record(self) -> None:
        group, self._waiting = self._waiting, []
        self._since = self.runner.clock()
        try:
            with write_turn():
                lifecycle.record_results(
                    group,
                    attempts=self.attempts,
                    now=timezone.now(),
                    gateway=self.runner.gateway.name,
                )
        except Exception:
            log.warning(
                "gateway %s: %d results kept in memory until the database answers",
                self.runner.gateway.name,
                len(group),
                exc_info=True,
            )
            _reset_connection()
            return
        self.recorded.update(r.message_id for r in group)
        self.runner._new_parts = self.runner._new_parts or any(r.references for r in group)
        self.runner.in_flight = [i for i in self.runner.in_flight if i not in self.recorded]

    def unreported(self) -> list[int]:
        return [i for i in self.attempts if i not in self.reported]

    def remainder(
        self, results: Sequence[SendResult], *, release_reason: str = "", unknown_reason: str = ""
    ) -> _Unrecorded:
        """What is still to record once the call is over: every result not recorded yet
        (from the call's list, or reported), and the messages without any."""
        known = {**self.reported, **{r.message_id: r for r in results}}
        left = [r for i, r in known.items() if i not in self.recorded]
        attempts = {i: a for i, a in self.attempts.items() if i not in self.recorded}
        return _Unrecorded(left, attempts, release_reason, unknown_reason)
