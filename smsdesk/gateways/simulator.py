"""A fake mobile network, the default gateway: nothing to plug in to try smsdesk.

It accepts every message at once (or at `rate`, each hand-over taking `latency` seconds),
reports it delivered after `delivery_delay` seconds, fails the numbers it is told to fail, and
receives the SMS and calls injected with `smsdesk simulate`. It keeps a record of every
message it was handed, in memory and, with `log`, appended to a file, so that a test can prove
that nothing went out twice even across a worker killed mid-batch.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from smsdesk.gateways.base import (
    DeliveryState,
    Gateway,
    Health,
    InboundSMS,
    IncomingCall,
    OutboundSMS,
    SendResult,
    StatusReport,
)


class SimulatorGateway(Gateway):
    kind = "simulator"

    def __init__(
        self,
        name: str = "simulator",
        *,
        rate: float | None = None,
        batch_size: int = 500,
        delivery_delay: float = 1.0,
        latency: float = 0.0,
        hang_after: int | None = None,
        fail_permanent: Iterable[str] = (),
        fail_temporary: Iterable[str] = (),
        undeliverable: Iterable[str] = (),
        log: str | Path | None = None,
    ) -> None:
        super().__init__(name, rate=rate, batch_size=batch_size)
        self.delivery_delay = delivery_delay
        self.latency = latency  # seconds each send_many call takes, like a network round trip
        self.fail_permanent = frozenset(fail_permanent)
        self.fail_temporary = frozenset(fail_temporary)
        self.undeliverable = frozenset(undeliverable)
        self.log_path = Path(log) if log else None
        # Stop answering (block in send_many) once this many messages were accepted: lets a
        # test kill a worker while a batch is in the network's hands.
        self.hang_after = hang_after
        self.handed: list[OutboundSMS] = []  # every message ever accepted, in order
        self._refs = itertools.count(1)
        self._seq = itertools.count()  # tie-breaker for reports due at the same time
        self._ref_prefix = secrets.token_hex(4)  # unique across restarts
        self._pending: list[tuple[float, int, StatusReport]] = []  # due time, seq, report
        self._lock = threading.Lock()

    def start(self, emit) -> None:  # type: ignore[no-untyped-def]
        super().start(emit)
        self.emit(Health(self.name, connected=True, detail="simulated network", operator="SIM"))

    def send_many(self, messages: Sequence[OutboundSMS]) -> list[SendResult]:
        if self.hang_after is not None and len(self.handed) >= self.hang_after:
            while True:
                time.sleep(3600)
        results: list[SendResult] = []
        accepted: list[OutboundSMS] = []
        due = time.monotonic() + self.delivery_delay
        for msg in messages:
            if msg.to in self.fail_permanent:
                results.append(
                    SendResult.failed(msg.id, "number unknown to the network", permanent=True)
                )
            elif msg.to in self.fail_temporary:
                results.append(
                    SendResult.failed(msg.id, "network busy, try later", permanent=False)
                )
            else:
                ref = f"{self._ref_prefix}-{next(self._refs)}"
                results.append(SendResult.ok(msg.id, ref))
                accepted.append(msg)
                state = (
                    DeliveryState.FAILED
                    if msg.to in self.undeliverable
                    else DeliveryState.DELIVERED
                )
                detail = "handset unreachable" if state is DeliveryState.FAILED else ""
                with self._lock:
                    heapq.heappush(
                        self._pending,
                        (due, next(self._seq), StatusReport(self.name, ref, state, detail)),
                    )
        if self.latency > 0:
            time.sleep(self.latency)
        self._record(accepted)
        if self.delivery_delay <= 0:
            self.poll()
        return results

    def poll(self) -> None:
        now = time.monotonic()
        due: list[StatusReport] = []
        with self._lock:
            while self._pending and self._pending[0][0] <= now:
                due.append(heapq.heappop(self._pending)[2])
        for report in due:
            self.emit(report)

    def inject_inbound(self, sender: str, text: str) -> None:
        """As if a phone had texted the platform."""
        self.emit(InboundSMS(self.name, sender, text))

    def inject_call(self, caller: str) -> None:
        """As if a phone had called the platform's SIM."""
        self.emit(IncomingCall(self.name, caller))

    def _record(self, accepted: list[OutboundSMS]) -> None:
        self.handed.extend(accepted)
        if self.log_path is None or not accepted:
            return
        lines = "".join(
            json.dumps({"id": m.id, "to": m.to, "text": m.text}, ensure_ascii=False) + "\n"
            for m in accepted
        )
        # One unbuffered write per batch: once send_many returns, the record is in the
        # kernel and survives the process being killed.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, lines.encode("utf-8"))
        finally:
            os.close(fd)


def read_log(path: str | Path) -> list[dict]:
    """The messages a simulator with `log=path` was handed, in order (for tests)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]
