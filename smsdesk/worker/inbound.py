"""Turning gateway events into rows, through the services."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from smsdesk.calls import services as calls_services
from smsdesk.gateways.base import GatewayEvent, Health, InboundSMS, IncomingCall, StatusReport
from smsdesk.messaging import gateway_state, outbox, receiving

log = logging.getLogger(__name__)


class EventHandler:
    def __init__(self) -> None:
        self.stored_unmatched = False  # some report waits in the database for its part

    def handle(self, events: Sequence[GatewayEvent]) -> list[GatewayEvent]:
        """Record the events; returns those that could not be recorded (to try again)."""
        return self.record(events)[1]

    def record(
        self, events: Sequence[GatewayEvent]
    ) -> tuple[list[GatewayEvent], list[GatewayEvent]]:
        """Record the events; returns (recorded, failed): the recorded ones are committed
        (the gateway may forget them), the failed ones are to be tried again.

        Each inbound SMS or call is its own transaction, so one failure (database busy,
        disk full) neither loses nor duplicates the others. Reports go in one transaction.
        Inbound SMS go first: a STOP is stored before anything else is.
        """
        recorded: list[GatewayEvent] = []
        failed: list[GatewayEvent] = []
        reports = [e for e in events if isinstance(e, StatusReport)]
        # What people texted first (a STOP among it), before calls and anything else.
        ordered = sorted(events, key=lambda e: not isinstance(e, InboundSMS))
        for event in ordered:
            if isinstance(event, StatusReport):
                continue
            try:
                self._record(event)
            except Exception:
                log.exception("could not record %s, will try again", type(event).__name__)
                failed.append(event)
            else:
                recorded.append(event)
        if reports:
            try:
                if outbox.record_reports(reports):
                    self.stored_unmatched = True
            except Exception:
                log.exception("could not record %d status reports, will try again", len(reports))
                failed.extend(reports)
            else:
                recorded.extend(reports)
        return recorded, failed

    def _record(self, event: GatewayEvent) -> None:
        if isinstance(event, InboundSMS):
            receiving.receive_inbound(
                gateway=event.gateway,
                sender=event.sender,
                text=event.text,
                received_at=event.received_at,
                concat=event.concat,
                delivery_id=event.delivery_id,
                destination=event.destination,
            )
        elif isinstance(event, IncomingCall):
            calls_services.receive_call(gateway=event.gateway, caller=event.caller, at=event.at)
        elif isinstance(event, Health):
            gateway_state.record_health(event)
