"""Building the worker from settings, and running it until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading

from django.conf import settings

from smsdesk.gateways import registry
from smsdesk.worker.loop import Worker


def build_worker() -> Worker:
    specs = registry.parse_specs(settings.SMSDESK_GATEWAYS)
    return Worker([registry.build(s) for s in specs])


def stop_on_signals(stop) -> None:  # type: ignore[no-untyped-def]
    """Call `stop()` on SIGTERM and SIGINT (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())
