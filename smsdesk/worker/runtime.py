"""Building the worker from settings, and running it until SIGTERM or Ctrl-C."""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Callable

from django.conf import settings

from smsdesk.gateways import registry
from smsdesk.messaging import gateway_state
from smsdesk.worker.gateway_store import DatabaseGatewayStore
from smsdesk.worker.loop import Worker


def build_worker() -> Worker:
    """One gateway per SMSDESK_GATEWAYS entry, each given its durable store."""
    specs = gateway_state.configured()
    return Worker(
        [
            registry.build(
                dataclasses.replace(
                    s,
                    store=DatabaseGatewayStore(s.name),
                    hang_up_calls=settings.SMSDESK_CALLS_HANG_UP,
                )
            )
            for s in specs
        ]
    )


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Call `stop()` on SIGTERM and SIGINT (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())
