"""The gateway interface shared by the simulator, the GSM modem, SMPP and HTTP providers.

A gateway is driven by one worker thread (`send_many` is never called concurrently) and may
emit events from any thread at any time through the `emit` callback given to `start`: a modem
reports an incoming SMS or call whenever the network delivers one, an SMPP bind sends
`deliver_sm` at will. The worker queues those events and records them.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutboundSMS:
    """What a gateway needs to send one message. `id` is the database id, for results."""

    id: int
    to: str  # E.164
    text: str
    report: bool = True  # ask the network for delivery reports


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # every part handed over; references: one per part, in order
    REFUSED = "refused"  # the network said no; `permanent` tells if a retry can help
    NOT_HANDED_OVER = "not_handed_over"  # nothing of this message left us: back to queued
    MAYBE_HANDED_OVER = "maybe"  # the link died after bytes left: message becomes `unknown`


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of handing one message to the network.

    Accepted: `references` holds the network's id of each part, in part order (used to match
    status reports). Otherwise `error` says why; `permanent` tells whether trying again could
    help.
    """

    message_id: int
    outcome: Outcome = Outcome.ACCEPTED
    references: tuple[str, ...] = ()
    error: str = ""
    permanent: bool = False

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def reference(self) -> str | None:
        # The single-reference form the outbox stores until it keeps one row per part.
        return self.references[0] if self.references else None

    @classmethod
    def ok(cls, message_id: int, references: str | Sequence[str]) -> SendResult:
        refs = (references,) if isinstance(references, str) else tuple(references)
        return cls(message_id, Outcome.ACCEPTED, refs)

    @classmethod
    def refused(cls, message_id: int, error: str, *, permanent: bool) -> SendResult:
        return cls(message_id, Outcome.REFUSED, error=error, permanent=permanent)

    failed = refused  # the name the simulator and the outbox use today

    @classmethod
    def not_handed_over(cls, message_id: int, error: str) -> SendResult:
        return cls(message_id, Outcome.NOT_HANDED_OVER, error=error)

    @classmethod
    def maybe(cls, message_id: int, error: str, refs: Sequence[str] = ()) -> SendResult:
        return cls(message_id, Outcome.MAYBE_HANDED_OVER, tuple(refs), error=error)


class DeliveryState(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Concat:
    """TP-UDH concatenation of one received part: `seq` (1-based) of `total`, under `ref`."""

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
    handle: object = None  # what `acknowledge` needs to forget it (the modem: its SIM slot)


@dataclass(frozen=True, slots=True)
class StatusReport:
    gateway: str
    reference: str  # a PART's reference
    state: DeliveryState
    detail: str = ""
    at: datetime = field(default_factory=utcnow)
    handle: object = None


@dataclass(frozen=True, slots=True)
class IncomingCall:
    gateway: str
    caller: str  # "" when hidden
    at: datetime = field(default_factory=utcnow)
    handle: object = None


@dataclass(frozen=True, slots=True)
class Health:
    gateway: str
    connected: bool
    detail: str = ""
    signal_percent: int | None = None
    operator: str = ""
    at: datetime = field(default_factory=utcnow)
    extra: dict[str, str] = field(default_factory=dict)  # imei, model, sim, ...


GatewayEvent = InboundSMS | StatusReport | IncomingCall | Health
EventSink = Callable[[GatewayEvent], None]


class GatewayError(Exception):
    """The configuration is wrong (e.g. wrong PIN): do not retry on its own."""


class GatewayUnavailable(GatewayError):
    """The network cannot be reached now and NOTHING was handed over: try again later."""


class Gateway(ABC):
    """One transport. Subclasses set `kind` and implement `send_many`."""

    kind: str = ""

    def __init__(self, name: str, *, rate: float | None = None, batch_size: int = 100) -> None:
        self.name = name
        # At most `rate` messages a second (None: as fast as the gateway takes them).
        self.rate = rate
        # How many messages one `send_many` call may carry. A crash between the claim and
        # the record leaves at most this many `unknown`, so slow transports use 1.
        self.batch_size = max(1, batch_size)
        self._emit: EventSink | None = None

    def start(self, emit: EventSink) -> None:
        """Open connections; from now on events go to `emit`."""
        self._emit = emit

    def stop(self) -> None:
        """Close connections. Events are no longer emitted."""
        self._emit = None

    def emit(self, event: GatewayEvent) -> None:
        if self._emit is not None:
            self._emit(event)

    @abstractmethod
    def send_many(self, messages: Sequence[OutboundSMS]) -> list[SendResult]:
        """Hand the messages to the network; one result per message, in the same order.

        Must not raise for a per-message refusal (return a failed result instead). Raising
        means the gateway itself is broken: the worker then treats every message of the call
        as `unknown`, because it cannot tell which ones went out.
        """

    def poll(self) -> None:  # noqa: B027 - optional hook, most gateways push events themselves
        """Called by the worker between batches: emit any event that is due."""

    def acknowledge(self, events: Sequence[GatewayEvent]) -> None:  # noqa: B027 - optional
        """Called AFTER the events are committed to the database: forget them for good (the
        modem deletes the SMS from the SIM). An event never acknowledged is emitted again."""
