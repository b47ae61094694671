"""The gateway interface shared by the simulator, the GSM modem, SMPP and HTTP providers.

A gateway is driven by one worker thread (`start`, `send_many`, `poll`, `acknowledge` and
`stop` are never called concurrently) and may emit events from any thread at any time through
the `emit` callback given to `start`: a modem reports an incoming SMS or call whenever the
network delivers one, an SMPP bind sends `deliver_sm` at will. The worker queues those events,
records them, and only then calls `acknowledge` with them (delete from the SIM,
`deliver_sm_resp`): whatever the network hands us survives a crash of the worker.

Failures come in kinds the worker must tell apart (DESIGN.md, "Failures"):
- `GatewayUnavailable` (from `start` or `send_many`), or a result `NOT_HANDED_OVER`: nothing
  left us. The message goes back to `queued` with no try used; the gateway is marked down and
  retried with back-off.
- a result `MAYBE_HANDED_OVER`: the link died after the bytes left; that message is `unknown`.
- any other exception from `send_many`: the worker cannot tell what went out, so what the
  call had not reported yet is `unknown` (a gateway that can say which messages went returns
  results instead).

Results as the network acknowledges them: `send_many` is given a `progress` callback; a
gateway that hands messages over one after the other (a modem, an SMPP bind's window, a slow
network) calls it with each result as soon as the network has acknowledged it, and the worker
records those in small groups while the hand-over goes on. A worker killed in the middle of a
long hand-over then leaves `unknown` only what the network had not acknowledged yet, not the
whole call. A result given to `progress` is final: the returned list repeats it.
- `GatewayError` that is not `GatewayUnavailable`, from `start`: the configuration is wrong
  (wrong PIN, unknown option). The gateway stays down with the reason; it is not retried on
  its own (a SIM locks after three wrong PINs).

No Django here: a gateway that needs to keep something across restarts is given a
`GatewayStore` by whoever builds it (the worker gives a database-backed one).
"""

from __future__ import annotations

import enum
import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutboundSMS:
    """What a gateway needs to send one message. `id` is the database id, for results."""

    id: int
    to: str  # E.164
    text: str
    report: bool = True  # ask the network for delivery reports
    flash: bool = False  # class 0: shown at once, not stored (only where `supports_flash`)
    # The sender name or number it goes out with ("": the line's own): on a line shared by
    # several organisations, the sending organisation's (messaging/lines.py)
    sender: str = ""


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # every part handed over; references: one per part, in order
    REFUSED = "refused"  # the network said no; `permanent` tells whether a retry can help
    NOT_HANDED_OVER = "not_handed_over"  # nothing of it left us: back to queued, no try used
    MAYBE_HANDED_OVER = "maybe"  # the link died after bytes left: the message is `unknown`


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of handing one message to the network.

    Accepted: `references` are the network's ids of its parts, in part order (a report names
    one of them). Refused: `error` says why (in English, translated when shown) and
    `permanent` whether trying again could help.
    """

    message_id: int
    outcome: Outcome
    references: tuple[str, ...] = ()
    error: str = ""
    permanent: bool = False
    # Maybe handed over because the link itself broke (an SMSC restarted, a resp that never
    # came): `unknown` for the user, but not held against the line by the watch.
    link_lost: bool = False

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def reference(self) -> str:
        """The first part's reference ("" when none): what a one-part message is known by."""
        return self.references[0] if self.references else ""

    @classmethod
    def ok(cls, message_id: int, references: str | Sequence[str]) -> SendResult:
        refs = (references,) if isinstance(references, str) else tuple(references)
        return cls(message_id, Outcome.ACCEPTED, references=refs)

    @classmethod
    def refused(cls, message_id: int, error: str, *, permanent: bool) -> SendResult:
        return cls(message_id, Outcome.REFUSED, error=error, permanent=permanent)

    # The name the first gateways used; same meaning as `refused`.
    failed = refused

    @classmethod
    def not_handed_over(cls, message_id: int, error: str) -> SendResult:
        return cls(message_id, Outcome.NOT_HANDED_OVER, error=error)

    @classmethod
    def maybe(
        cls, message_id: int, error: str, refs: Sequence[str] = (), *, link_lost: bool = False
    ) -> SendResult:
        return cls(
            message_id,
            Outcome.MAYBE_HANDED_OVER,
            references=tuple(refs),
            error=error,
            link_lost=link_lost,
        )


class DeliveryState(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Concat:
    """TP-UDH concatenation of an inbound part (`seq` is 1-based)."""

    ref: int
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class InboundSMS:
    gateway: str
    sender: str  # E.164 when the network gave an international number, else as received
    text: str
    received_at: datetime = field(default_factory=utcnow)
    concat: Concat | None = None
    handle: object = field(default=None, compare=False)  # the gateway's, for `acknowledge`
    # The gateway's own identity of this delivery (a modem's SIM slot and PDU, the
    # simulator's injection id, a network's message id): the same SMS emitted again (a
    # crash before `acknowledge`) carries the same one and is stored once. "" when the
    # gateway has none: then every SMS is stored, a genuine repeat is never dropped.
    delivery_id: str = ""
    # The address it was sent to (SMPP's destination_addr, a provider's "to", the
    # simulator's --to): tells the organisations sharing a line apart. "" when the
    # transport does not say (a modem: its SIM's one number).
    destination: str = ""


@dataclass(frozen=True, slots=True)
class StatusReport:
    gateway: str
    reference: str  # the reference of one PART
    state: DeliveryState
    detail: str = ""
    at: datetime = field(default_factory=utcnow)
    handle: object = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class IncomingCall:
    gateway: str
    caller: str  # "" when the number is hidden
    at: datetime = field(default_factory=utcnow)
    handle: object = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Health:
    gateway: str
    connected: bool
    detail: str = ""
    signal_percent: int | None = None
    operator: str = ""
    at: datetime = field(default_factory=utcnow)
    extra: dict[str, str] = field(default_factory=dict)  # imei, model, sim...


GatewayEvent = InboundSMS | StatusReport | IncomingCall | Health
EventSink = Callable[[GatewayEvent], None]
# Called by `send_many`, on the worker's thread, with results the network acknowledged.
ProgressSink = Callable[[Sequence[SendResult]], None]


class GatewayError(Exception):
    """The configuration is wrong (wrong PIN, unknown option): trying again will not help."""


class GatewayUnavailable(GatewayError):
    """The network cannot be reached now and NOTHING was handed over (port missing,
    connection refused, no `>` prompt, bind lost before submit): try again later."""


# --- durable storage a gateway may be given ------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredItem:
    """Something a gateway keeps until it is done with it (a pending report, an injection).

    `due` is a wall-clock time (seconds since the epoch), so that it still means something
    to the next process after a restart.
    """

    kind: str
    payload: Mapping[str, Any]
    due: float = 0.0
    id: int | None = None


class GatewayStore(ABC):
    """Storage that outlives the process, given to a gateway by whoever builds it (the
    worker gives one backed by the database, smsdesk/worker/gateway_store.py). Each store
    belongs to one gateway name."""

    @abstractmethod
    def put(self, items: Sequence[StoredItem]) -> None:
        """Keep the items; they are safe once this returns."""

    @abstractmethod
    def items(
        self, kinds: Sequence[str], *, due_before: float | None = None, limit: int = 1000
    ) -> list[StoredItem]:
        """Items of these kinds (due by `due_before` when given), oldest id first."""

    @abstractmethod
    def delete(self, ids: Sequence[int]) -> None:
        """Forget these items."""


class MemoryStore(GatewayStore):
    """The store of a gateway nobody gave one: lives as long as the process."""

    def __init__(self) -> None:
        self._items: dict[int, StoredItem] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def put(self, items: Sequence[StoredItem]) -> None:
        with self._lock:
            for item in items:
                new_id = next(self._ids)
                self._items[new_id] = StoredItem(item.kind, item.payload, item.due, new_id)

    def items(
        self, kinds: Sequence[str], *, due_before: float | None = None, limit: int = 1000
    ) -> list[StoredItem]:
        with self._lock:
            found = [
                item
                for item in self._items.values()
                if item.kind in kinds and (due_before is None or item.due <= due_before)
            ]
        return found[:limit]

    def delete(self, ids: Sequence[int]) -> None:
        with self._lock:
            for item_id in ids:
                self._items.pop(item_id, None)


# --- the transport --------------------------------------------------------------------------


class Gateway(ABC):
    """One transport. Subclasses set `kind` and implement `send_many`."""

    kind: str = ""
    # True: the worker records each `progress` call before it returns, instead of grouping
    # them (PROGRESS_GROUP). A gateway that keeps a window of messages in the network's
    # hands (SMPP) calls `progress` once per round of answers, so a SIGKILL of the worker
    # leaves `unknown` at most what its windows held.
    record_progress_at_once: bool = False
    # Can this line send a flash SMS (class 0)? A send asking for one through a line that
    # cannot is refused before it is queued (messaging.sending).
    supports_flash: bool = False

    def __init__(self, name: str, *, rate: float | None = None, batch_size: int = 100) -> None:
        self.name = name
        # At most `rate` messages a second (None: as fast as the gateway takes them).
        self.rate = rate
        # How many messages one `send_many` call may carry. A crash between the claim and
        # the record leaves at most this many `unknown`, so slow transports use 1.
        self.batch_size = max(1, batch_size)
        self._emit: EventSink | None = None

    def start(self, emit: EventSink) -> None:
        """Open connections; from now on events go to `emit`.

        Raises GatewayUnavailable when the network cannot be reached now (retried with
        back-off), GatewayError when the configuration is wrong (not retried)."""
        self._emit = emit

    def stop(self) -> None:
        """Close connections. Events are no longer emitted."""
        self._emit = None

    def emit(self, event: GatewayEvent) -> None:
        if self._emit is not None:
            self._emit(event)

    @abstractmethod
    def send_many(
        self, messages: Sequence[OutboundSMS], progress: ProgressSink | None = None
    ) -> list[SendResult]:
        """Hand the messages to the network; one result per message, in the same order.

        `progress`, when given, is called with results as the network acknowledges them
        (each result at most once, before the call returns); the worker records them at once.
        Must not raise for a per-message refusal (return a refused result instead). Raise
        GatewayUnavailable only when none of those not reported through `progress` left us.
        Any other exception means the gateway cannot tell what went out: the worker marks
        every message of the call not reported yet `unknown`, so a gateway that knows better
        returns (or reports) per-message results.
        """

    def lanes(self) -> list[Gateway]:
        """The parts of this line that may hand over at the same time, each on its own worker
        thread (and database connection), so that one's database work overlaps another's
        network: an SMPP line of several binds gives one gateway per bind (same name, same
        line). Most lines are one lane: themselves. Each lane is started, stopped and sent
        through on its own, and emits its own events."""
        return [self]

    def preflight(self) -> str | None:
        """What `smsdesk check` can find out without sending anything nor taking the line
        from a running worker: "" when it looks reachable, the problem in words, or None
        when nothing can be checked that way."""
        return None

    def poll(self) -> None:  # noqa: B027 - optional hook, most gateways push events themselves
        """Called by the worker between batches: emit any event that is due."""

    def acknowledge(self, events: Sequence[GatewayEvent]) -> None:  # noqa: B027 - optional
        """The worker has committed these events to the database: the network may forget
        them now (the modem deletes them from the SIM, SMPP answers `deliver_sm_resp`).
        An event never acknowledged is emitted again later (at the latest after a restart)."""
