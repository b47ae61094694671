"""The worker process: one thread per gateway, plus housekeeping.

Each gateway thread loops on: claim a batch, send it, record the results, then record the
events the gateway emitted meanwhile (status reports, inbound SMS, calls). Keeping a gateway's
events on its own thread keeps them in order with its sends, and a slow modem never holds up
an SMPP bind. The main thread keeps the worker's heartbeat, marks the messages of dead
workers `unknown`, and feeds `smsdesk simulate` injections to the simulator gateways.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Sequence

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from smsdesk.gateways.base import Gateway, GatewayEvent
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import outbox
from smsdesk.worker.dispatch import RateLimiter, send_batch
from smsdesk.worker.inbound import EventHandler, touch_gateway_rows
from smsdesk.worker.models import SimulatedEvent, WorkerProcess
from smsdesk.worker.services import HEARTBEAT_EVERY, HEARTBEAT_TIMEOUT

log = logging.getLogger(__name__)


class GatewayRunner(threading.Thread):
    def __init__(
        self, gateway: Gateway, worker_id: str, stopping: threading.Event, idle_sleep: float
    ) -> None:
        super().__init__(name=f"gateway-{gateway.name}", daemon=True)
        self.gateway = gateway
        self.worker_id = worker_id
        self.stopping = stopping
        self.idle_sleep = idle_sleep
        self.events: queue.SimpleQueue[GatewayEvent] = queue.SimpleQueue()
        self.wake = threading.Event()
        self.handler = EventHandler()
        self.limiter = RateLimiter(gateway.rate, gateway.batch_size)
        self.sent = 0
        self._unrecorded: list[GatewayEvent] = []

    def emit(self, event: GatewayEvent) -> None:  # called from any thread
        self.events.put(event)
        self.wake.set()

    def run(self) -> None:
        self.gateway.start(self.emit)
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.step()
                except Exception:  # a database hiccup must not kill the gateway's thread
                    log.exception("gateway %s: step failed, retrying", self.gateway.name)
                    close_old_connections()
                    busy = False
                if not busy:
                    self.wake.wait(self.idle_sleep)
                    self.wake.clear()
        finally:
            self.gateway.stop()
            self.drain_events()
            connection.close()

    def step(self) -> bool:
        """One round; True when there may be more work right away."""
        self.gateway.poll()
        allowance = self.limiter.allowance()
        claimed = 0
        if allowance >= 1:
            claimed = send_batch(self.gateway, worker_id=self.worker_id, limit=allowance)
            self.limiter.spend(claimed)
            self.sent += claimed
        had_events = self.drain_events()
        if claimed == allowance and self.limiter.wait_time() > 0:
            self.stopping.wait(self.limiter.wait_time())
        return claimed > 0 or had_events

    def drain_events(self) -> bool:
        events, self._unrecorded = self._unrecorded, []
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                break
        if events:
            # Kept in memory until recorded: the database may be busy for a moment.
            self._unrecorded = self.handler.handle(events)
        else:
            self.handler.retry_orphans()
        return len(events) > len(self._unrecorded)


class Worker:
    def __init__(self, gateways: Sequence[Gateway], *, idle_sleep: float = 0.5) -> None:
        self.gateways = list(gateways)
        self.idle_sleep = idle_sleep
        self.id = uuid.uuid4().hex
        self.stopping = threading.Event()
        self.runners: list[GatewayRunner] = []

    def run(self) -> None:
        """Run until `stop()` (or SIGTERM/Ctrl-C handled by the caller)."""
        self.start()
        try:
            while not self.stopping.wait(self.idle_sleep):
                self.housekeeping()
        finally:
            self.join()

    def start(self) -> None:
        touch_gateway_rows([(g.name, g.kind) for g in self.gateways])
        self.register()
        self.recover()
        self.runners = [
            GatewayRunner(g, self.id, self.stopping, self.idle_sleep) for g in self.gateways
        ]
        for runner in self.runners:
            runner.start()
        self._last_heartbeat = timezone.now()
        log.info(
            "worker %s started for gateways %s",
            self.id[:8],
            ", ".join(g.name for g in self.gateways),
        )

    def stop(self) -> None:
        self.stopping.set()
        for runner in self.runners:
            runner.wake.set()

    def join(self, timeout: float = 30.0) -> None:
        for runner in self.runners:
            runner.join(timeout)
        WorkerProcess.objects.filter(id=self.id).delete()
        connection.close()

    def housekeeping(self) -> None:
        try:
            self.inject_simulated()
            if (timezone.now() - self._last_heartbeat).total_seconds() >= HEARTBEAT_EVERY:
                self.register()
                self.recover()
        except Exception:
            log.exception("worker housekeeping failed, retrying")
            close_old_connections()

    def register(self) -> None:
        now = timezone.now()
        WorkerProcess.objects.update_or_create(
            id=self.id,
            defaults={"heartbeat_at": now},
            create_defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "gateways": [g.name for g in self.gateways],
                "started_at": now,
                "heartbeat_at": now,
            },
        )
        self._last_heartbeat = now

    def recover(self) -> int:
        """Forget dead workers and mark what they were sending `unknown`."""
        now = timezone.now()
        live = []
        for w in WorkerProcess.objects.all():
            if _is_alive(w, now):
                live.append(w.id)
            else:
                w.delete()
        count = outbox.recover_in_flight(live_workers=live, now=now)
        if count:
            log.warning("%d messages left in flight by a stopped worker are now 'unknown'", count)
        return count

    def inject_simulated(self) -> None:
        simulators = {
            r.gateway.name: r for r in self.runners if isinstance(r.gateway, SimulatorGateway)
        }
        if not simulators:
            return
        with transaction.atomic():
            pending = list(
                SimulatedEvent.objects.select_for_update()
                .filter(gateway__in=list(simulators))
                .order_by("id")[:100]
            )
            SimulatedEvent.objects.filter(id__in=[e.id for e in pending]).delete()
        for e in pending:
            gateway = simulators[e.gateway].gateway
            assert isinstance(gateway, SimulatorGateway)
            if e.kind == SimulatedEvent.Kind.CALL:
                gateway.inject_call(e.sender)
            else:
                gateway.inject_inbound(e.sender, e.text)


def _is_alive(w: WorkerProcess, now) -> bool:  # type: ignore[no-untyped-def]
    if now - w.heartbeat_at > HEARTBEAT_TIMEOUT:
        return False
    if w.hostname == socket.gethostname():
        # Same machine: no need to wait for the heartbeat to age, ask the kernel.
        try:
            os.kill(w.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True
