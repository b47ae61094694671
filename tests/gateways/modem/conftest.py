from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smsdesk.gateways.base import GatewayEvent, Health, InboundSMS, IncomingCall, StatusReport
from smsdesk.gateways.modem import ModemGateway, Timeouts
from tests.gateways.modem.emulator import ModemEmulator

# Generous where the emulator answers (within milliseconds, but the machine may be loaded):
# a happy path never waits for these. The failure scenarios shorten the one they exercise.
FAST = Timeouts(command=5.0, prompt=5.0, send=5.0, sim=5.0, reconnect_max=0.4, call_quiet=1.0)


class Recorder:
    """Stands in for the worker: records events, and acknowledges them after its 'commit'."""

    def __init__(self) -> None:
        self.events: list[GatewayEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: GatewayEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type) -> list:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]

    @property
    def inbound(self) -> list[InboundSMS]:
        return self.of(InboundSMS)

    @property
    def reports(self) -> list[StatusReport]:
        return self.of(StatusReport)

    @property
    def calls(self) -> list[IncomingCall]:
        return self.of(IncomingCall)

    @property
    def health(self) -> list[Health]:
        return self.of(Health)


def wait_for(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    """Wait until `predicate()` is true (a bound against hanging, not a speed check)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def make_emulator(tmp_path: Path) -> Iterator[Callable[..., ModemEmulator]]:
    made: list[ModemEmulator] = []

    def make(**kwargs: object) -> ModemEmulator:
        emulator = ModemEmulator(tmp_path, name=f"ttyUSB{len(made)}", **kwargs)  # type: ignore[arg-type]
        made.append(emulator)
        return emulator

    yield make
    for emulator in made:
        emulator.close()


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., ModemGateway]]:
    made: list[ModemGateway] = []

    def make(emulator: ModemEmulator, **kwargs: object) -> ModemGateway:
        options: dict = {"timeouts": FAST, "health_every": 60.0, **kwargs}
        gateway = ModemGateway("modem", emulator.path, **options)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.stop()
