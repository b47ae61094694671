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


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of handing one message to the network.

    Accepted: `reference` is the network's id for it (used to match status reports).
    Refused: `error` says why; `permanent` tells whether trying again could help.
    """

    message_id: int
    reference: str | None = None
    error: str | None = None
    permanent: bool = False

    @property
    def accepted(self) -> bool:
        return self.error is None

    @classmethod
    def ok(cls, message_id: int, reference: str) -> SendResult:
        return cls(message_id, reference=reference)

    @classmethod
    def failed(cls, message_id: int, error: str, *, permanent: bool) -> SendResult:
        return cls(message_id, error=error, permanent=permanent)


class DeliveryState(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InboundSMS:
    gateway: str
    sender: str  # E.164 when the network gave an international number, else as received
    text: str
    received_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class StatusReport:
    gateway: str
    reference: str
    state: DeliveryState
    detail: str = ""
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class IncomingCall:
    gateway: str
    caller: str
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class Health:
    gateway: str
    connected: bool
    detail: str = ""
    signal_percent: int | None = None
    operator: str = ""
    at: datetime = field(default_factory=utcnow)


GatewayEvent = InboundSMS | StatusReport | IncomingCall | Health
EventSink = Callable[[GatewayEvent], None]


class GatewayError(Exception):
    """The gateway cannot work at all (bad configuration, port missing, bind refused)."""


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
