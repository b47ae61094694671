"""One dispatch step for one gateway: claim a batch, hand it over, record the results."""

from __future__ import annotations

import logging
import time

from django.utils import timezone

from smsdesk.gateways.base import Gateway
from smsdesk.messaging import outbox

log = logging.getLogger(__name__)

GATEWAY_BROKE = "The gateway failed while sending (%s): it may or may not have been sent."


class RateLimiter:
    """Token bucket: at most `rate` messages a second, in bursts of at most `burst`."""

    def __init__(self, rate: float | None, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def allowance(self) -> int:
        if self.rate is None:
            return self.burst
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return int(self.tokens)

    def spend(self, n: int) -> None:
        if self.rate is not None:
            self.tokens -= n

    def wait_time(self) -> float:
        """Seconds until one more message may go."""
        if self.rate is None or self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate


def send_batch(gateway: Gateway, *, worker_id: str, limit: int) -> int:
    """Send up to `limit` due messages through `gateway`; returns how many were claimed."""
    now = timezone.now()
    outbox.promote_scheduled(gateway.name, now)
    claimed = outbox.claim(gateway=gateway.name, worker_id=worker_id, limit=limit, now=now)
    if not claimed:
        return 0
    try:
        results = gateway.send_many([c.sms for c in claimed])
    except Exception as e:  # the gateway itself broke: we cannot tell which went out
        log.exception("gateway %s failed in send_many", gateway.name)
        outbox.record_unknown(
            [c.sms.id for c in claimed], reason=GATEWAY_BROKE % e, now=timezone.now()
        )
        return len(claimed)
    outbox.record_results(
        results, attempts={c.sms.id: c.attempts for c in claimed}, now=timezone.now()
    )
    return len(claimed)
