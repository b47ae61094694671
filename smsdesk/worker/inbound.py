"""Turning gateway events into rows, through the services."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from smsdesk.gateways.base import GatewayEvent, Health, InboundSMS, IncomingCall, StatusReport
from smsdesk.messaging import outbox, services
from smsdesk.messaging.models import Gateway

log = logging.getLogger(__name__)

# How long a status report that matches no message is kept, waiting for its message to be
# recorded as sent (SMPP can report before the submit response has been processed).
ORPHAN_REPORT_TTL = 600.0


class EventHandler:
    def __init__(self) -> None:
        self._orphans: list[tuple[float, StatusReport]] = []

    def handle(self, events: Sequence[GatewayEvent]) -> list[GatewayEvent]:
        """Record the events; returns those that could not be recorded (to try again).

        Each inbound SMS or call is its own transaction, so one failure (database busy,
        disk full) neither loses nor duplicates the others.
        """
        failed: list[GatewayEvent] = []
        reports = [e for e in events if isinstance(e, StatusReport)]
        for event in events:
            if isinstance(event, StatusReport):
                continue
            try:
                self._record(event)
            except Exception:
                log.exception("could not record %s, will try again", type(event).__name__)
                failed.append(event)
        try:
            self._apply_reports(reports)
        except Exception:
            log.exception("could not record %d status reports, will try again", len(reports))
            failed.extend(reports)
        return failed

    def _record(self, event: GatewayEvent) -> None:
        if isinstance(event, InboundSMS):
            services.receive_inbound(
                gateway=event.gateway,
                sender=event.sender,
                text=event.text,
                received_at=event.received_at,
                concat=event.concat,
            )
        elif isinstance(event, IncomingCall):
            services.receive_call(gateway=event.gateway, caller=event.caller, at=event.at)
        elif isinstance(event, Health):
            Gateway.objects.filter(name=event.gateway).update(
                connected=event.connected,
                detail=event.detail[:200],
                operator=event.operator[:100],
                signal_percent=event.signal_percent,
                updated_at=event.at,
            )

    def retry_orphans(self) -> None:
        if self._orphans:
            self._apply_reports([])

    def _apply_reports(self, fresh: list[StatusReport]) -> None:
        now = time.monotonic()
        waiting = [(t, r) for t, r in self._orphans if now - t < ORPHAN_REPORT_TTL]
        dropped = len(self._orphans) - len(waiting)
        if dropped:
            log.warning("dropped %d status reports that matched no message", dropped)
        first_seen = {id(r): t for t, r in waiting}
        unmatched = outbox.record_reports([r for _t, r in waiting] + fresh)
        self._orphans = [(first_seen.get(id(r), now), r) for r in unmatched]


def touch_gateway_rows(gateways: Sequence[tuple[str, str]]) -> None:
    """Make sure every configured gateway has its row (name, kind)."""
    for name, kind in gateways:
        Gateway.objects.update_or_create(name=name, defaults={"kind": kind})
