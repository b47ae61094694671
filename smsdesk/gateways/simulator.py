"""A fake mobile network, the default gateway: nothing to plug in to try smsdesk.

It accepts every message at once (or at `rate`, each hand-over taking `latency` seconds),
splits it into parts by the GSM-7/UCS-2 segment rules and gives each part a reference,
reports each part delivered after `delivery_delay` seconds, fails the numbers it is told to
fail, and receives the SMS and calls injected with `smsdesk simulate`. While an outage is on
(`smsdesk simulate outage`), it cannot be reached: `start` and `send_many` raise
GatewayUnavailable and nothing is handed over.

Like a real network, it keeps what it owes the platform until the platform acknowledges it:
its pending reports, the injected SMS and calls, and the outages live in the `GatewayStore`
it is given (the worker gives one in the database: a SIGKILL of the worker loses none of
them, and `smsdesk simulate` in another process reaches it). Without a store it keeps them in
memory.

It keeps a record of every message it was handed, in memory and, with `log`, appended to a
file (each line with `t`, when its hand-over began), so that a test can prove that nothing
went out twice even across a worker killed mid-batch, and when each message was handed over.

With a `latency`, a hand-over of several messages acknowledges them as it goes, in groups of
`ACK_EVERY` (each after its share of the latency), through the worker's `progress` callback:
a slow network to kill a worker in the middle of.

An injected SMS carries its store id as its `delivery_id`: emitted again after a crash of the
worker, it is recognised and stored once; two identical SMS injected are two SMS.
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from smsdesk.config import private_file
from smsdesk.gateways.base import (
    DeliveryState,
    EventSink,
    Gateway,
    GatewayEvent,
    GatewayStore,
    GatewayUnavailable,
    Health,
    InboundSMS,
    IncomingCall,
    MemoryStore,
    OutboundSMS,
    ProgressSink,
    SendResult,
    StatusReport,
    StoredItem,
)
from smsdesk.gateways.registry import (
    GatewaySpec,
    refuse_unknown_options,
    register,
    take_float,
    take_int,
    take_numbers,
)
from smsdesk.sms import gsm7

# Kinds of the items the simulator keeps in its store.
REPORT, INBOUND, CALL, OUTAGE = "report", "inbound", "call", "outage"
ACK_EVERY = 10  # messages the simulated network acknowledges at a time, with a latency
UNREACHABLE = "simulated network unreachable"  # English, translated when shown


def injected_sms(sender: str, text: str, to: str = "") -> StoredItem:
    """What `smsdesk simulate inbound` stores: a phone texting the platform (`to`: the
    sender name or number it wrote to, on a shared line)."""
    payload = {"sender": sender, "text": text, "at": time.time()}
    if to:
        payload["to"] = to
    return StoredItem(INBOUND, payload)


def injected_call(caller: str) -> StoredItem:
    """What `smsdesk simulate call` stores: a phone calling the platform's SIM."""
    return StoredItem(CALL, {"caller": caller, "at": time.time()})


def outage(seconds: float) -> StoredItem:
    """What `smsdesk simulate outage` stores: the network unreachable until then."""
    return StoredItem(OUTAGE, {}, due=time.time() + seconds)


@functools.lru_cache(maxsize=256)  # a campaign sends one text to many numbers
def _part_count(text: str) -> int:
    """How many parts the network carries the text in (GSM-7 or UCS-2 segment rules)."""
    if len(text) <= 35:  # fits one part even in UCS-2 with surrogate pairs
        return 1
    return max(1, len(gsm7.split(text)))


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
        store: GatewayStore | None = None,
    ) -> None:
        super().__init__(name, rate=rate, batch_size=batch_size)
        self.delivery_delay = delivery_delay
        self.latency = latency  # seconds each send_many call takes, like a network round trip
        self.fail_permanent = frozenset(fail_permanent)
        self.fail_temporary = frozenset(fail_temporary)
        self.undeliverable = frozenset(undeliverable)
        self.log_path = Path(log) if log else None
        self.store = store if store is not None else MemoryStore()
        # Stop answering (block in send_many) once this many messages were accepted: lets a
        # test kill a worker while a batch is in the network's hands.
        self.hang_after = hang_after
        self.handed: list[OutboundSMS] = []  # every message ever accepted, in order
        self._ref_prefix = secrets.token_hex(4)  # unique across restarts
        self._refs = 0
        # Store ids emitted and not acknowledged yet: the worker holds them until recorded, so
        # they are not emitted again by this instance (a new process emits them again).
        self._emitted: set[int] = set()
        self._lock = threading.Lock()

    def preflight(self) -> str:
        return ""  # the simulated network is always there

    def start(self, emit: EventSink) -> None:
        self._check_reachable()
        super().start(emit)
        self.emit(Health(self.name, connected=True, detail="simulated network", operator="SIM"))

    def send_many(
        self, messages: Sequence[OutboundSMS], progress: ProgressSink | None = None
    ) -> list[SendResult]:
        self._check_reachable()
        if self.hang_after is not None and len(self.handed) >= self.hang_after:
            while True:
                time.sleep(3600)
        started = time.time()
        if self.latency > 0 and progress is not None and len(messages) > ACK_EVERY:
            results: list[SendResult] = []
            for start in range(0, len(messages), ACK_EVERY):
                group = messages[start : start + ACK_EVERY]
                time.sleep(self.latency * len(group) / len(messages))
                acknowledged = self._hand_over(group, started)
                results.extend(acknowledged)
                progress(acknowledged)
            return results
        if self.latency > 0:
            time.sleep(self.latency)
        return self._hand_over(messages, started)

    def _hand_over(self, messages: Sequence[OutboundSMS], started: float) -> list[SendResult]:
        results: list[SendResult] = []
        accepted: list[OutboundSMS] = []
        reports: list[StoredItem] = []
        due = time.time() + self.delivery_delay
        for msg in messages:
            if msg.to in self.fail_permanent:
                results.append(
                    SendResult.refused(msg.id, "number unknown to the network", permanent=True)
                )
                continue
            if msg.to in self.fail_temporary:
                results.append(
                    SendResult.refused(msg.id, "network busy, try later", permanent=False)
                )
                continue
            parts = _part_count(msg.text)
            refs = [self._next_ref() for _ in range(parts)]
            results.append(SendResult.ok(msg.id, refs))
            accepted.append(msg)
            failed = msg.to in self.undeliverable
            for ref in refs:
                state = DeliveryState.FAILED if failed else DeliveryState.DELIVERED
                detail = "handset unreachable" if failed else ""
                reports.append(
                    StoredItem(REPORT, {"ref": ref, "state": state, "detail": detail}, due)
                )
        # The network owes these reports from now on: stored before anything counts as
        # handed over, so that a store that fails means nothing (more) left us.
        try:
            self.store.put(reports)
        except Exception as e:
            raise GatewayUnavailable(f"simulated network cannot store its reports: {e}") from e
        self._record(accepted, started)
        return results

    def poll(self) -> None:
        """Emit the reports that are due and the injected SMS and calls."""
        if self._emit is None:
            return  # not started: nobody to hand them to, keep them
        items = self.store.items((REPORT, INBOUND, CALL), due_before=time.time())
        for item in items:
            assert item.id is not None
            with self._lock:
                if item.id in self._emitted:
                    continue
                self._emitted.add(item.id)
            self.emit(self._event(item))

    def acknowledge(self, events: Sequence[GatewayEvent]) -> None:
        ids = [h for e in events if isinstance(h := getattr(e, "handle", None), int)]
        if ids:
            self.store.delete(ids)
            with self._lock:
                self._emitted.difference_update(ids)

    def inject_inbound(self, sender: str, text: str, to: str = "") -> None:
        """As if a phone had texted the platform (picked up by the next `poll`); `to`: the
        sender name or number it was addressed to."""
        self.store.put([injected_sms(sender, text, to)])

    def inject_call(self, caller: str) -> None:
        """As if a phone had called the platform's SIM (picked up by the next `poll`)."""
        self.store.put([injected_call(caller)])

    def _event(self, item: StoredItem) -> GatewayEvent:
        p = item.payload
        at = datetime.fromtimestamp(float(p.get("at") or item.due or time.time()), UTC)
        if item.kind == INBOUND:
            return InboundSMS(
                self.name,
                p["sender"],
                p["text"],
                received_at=at,
                handle=item.id,
                delivery_id=f"simulator:{item.id}",
                destination=p.get("to", ""),
            )
        if item.kind == CALL:
            return IncomingCall(self.name, p["caller"], at=at, handle=item.id)
        return StatusReport(
            self.name,
            p["ref"],
            DeliveryState(p["state"]),
            detail=p.get("detail", ""),
            at=at,
            handle=item.id,
        )

    def _check_reachable(self) -> None:
        """Raise GatewayUnavailable during an outage (or when its memory is out of reach)."""
        now = time.time()
        try:
            outages = self.store.items((OUTAGE,))
            over = [o.id for o in outages if o.due <= now and o.id is not None]
            if over:
                self.store.delete(over)
        except Exception as e:
            raise GatewayUnavailable(f"simulated network cannot read its state: {e}") from e
        if any(o.due > now for o in outages):
            raise GatewayUnavailable(UNREACHABLE)

    def _next_ref(self) -> str:
        with self._lock:
            self._refs += 1
            return f"{self._ref_prefix}-{self._refs}"

    def _record(self, accepted: list[OutboundSMS], started: float) -> None:
        self.handed.extend(accepted)
        if self.log_path is None or not accepted:
            return
        lines = "".join(
            json.dumps(
                {"id": m.id, "to": m.to, "text": m.text, "t": started}
                | ({"from": m.sender} if m.sender else {}),
                ensure_ascii=False,
            )
            + "\n"
            for m in accepted
        )
        # One unbuffered write per batch: once send_many returns, the record is in the
        # kernel and survives the process being killed. Numbers and texts: owner only.
        with private_file(self.log_path, "ab", buffering=0) as log:
            log.write(lines.encode("utf-8"))


@register("simulator")
def build_simulator(spec: GatewaySpec) -> SimulatorGateway:
    opts = dict(spec.options)
    rate = take_float(opts, "rate", None)
    if rate is not None and not rate > 0:  # also refuses nan; no rate means unlimited
        raise ValueError(f"rate must be a positive number, not {rate!r}")
    gateway = SimulatorGateway(
        spec.name,
        rate=rate,
        batch_size=take_int(opts, "batch_size", 500) or 500,
        delivery_delay=take_float(opts, "delivery_delay", 1.0) or 0.0,
        latency=take_float(opts, "latency", 0.0) or 0.0,
        hang_after=take_int(opts, "hang_after", None),
        fail_permanent=take_numbers(opts, "fail_permanent"),
        fail_temporary=take_numbers(opts, "fail_temporary"),
        undeliverable=take_numbers(opts, "undeliverable"),
        log=opts.pop("log", "") or None,
        store=spec.store,
    )
    refuse_unknown_options(spec, opts)
    return gateway


def read_log(path: str | Path) -> list[dict]:
    """The messages a simulator with `log=path` was handed, in order (for tests)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]
