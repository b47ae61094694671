"""Building the worker from settings, and running it until SIGTERM or Ctrl-C."""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connection

from smsdesk.core import schema
from smsdesk.gateways import registry
from smsdesk.messaging import gateway_state
from smsdesk.worker.gateway_store import DatabaseGatewayStore
from smsdesk.worker.loop import Worker
from smsdesk.worker.services import HEARTBEAT_EVERY

log = logging.getLogger(__name__)


def build_worker() -> Worker:
    """One gateway per SMSDESK_GATEWAYS entry this host may drive (SMSDESK_WORKER_LINES,
    empty: all), each given its durable store."""
    specs = gateway_state.configured()
    allowed = settings.SMSDESK_WORKER_LINES
    if allowed:
        specs = [s for s in specs if s.name in allowed]
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
        ],
        eligible=[s.name for s in specs],
    )


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Call `stop()` on SIGTERM and SIGINT (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())


class SchemaWatch(threading.Thread):
    """Stops the worker when a newer smsdesk has migrated the database (README "Upgrades").

    Checked at the heartbeat's pace, on its own connection: an old worker must not go on
    writing rows whose new meaning it does not know. It finishes the hand-over in progress,
    as on SIGTERM, then the command exits with `EXIT_SCHEMA_NEWER` (systemd does not restart
    it: RestartPreventExitStatus in the unit)."""

    def __init__(self, worker: Worker, every: float = HEARTBEAT_EVERY) -> None:
        super().__init__(name="schema-watch", daemon=True)
        self.worker = worker
        self.every = every
        self.newer: tuple[schema.Migration, ...] = ()

    def run(self) -> None:
        while not self.worker.stopping.wait(self.every):
            try:
                newer = schema.status().newer
            except Exception as e:  # the database is away: the worker copes, we ask again
                log.debug("schema check failed: %s", e)
                continue
            finally:
                connection.close()
            if newer:
                self.newer = newer
                log.error(
                    "the database was migrated by a newer smsdesk (%s): this worker stops",
                    schema.describe(newer),
                )
                self.worker.stop()
                return


EXIT_SCHEMA_NEWER = 3
