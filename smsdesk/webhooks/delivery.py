"""The worker's side of webhooks: deliveries sent from the outbox, retried, kept.

A `Dispatcher` thread of the worker picks due deliveries and hands them to a bounded pool of
`POOL_SIZE` threads, at most `PER_ENDPOINT` at once to one endpoint, so a receiver that hangs
holds two threads for at most network.READ_TIMEOUT seconds and never the gateways' threads:
sending and receiving go on whatever the receivers do. No network call runs inside a
transaction (STYLE.md).

Order: the deliveries of one endpoint and one key (the conversation's number, the STOP
list's number, the caller) go out one after the other: the next is not tried before the one
before it is delivered or given up. A failed try is tried again after `BACKOFF` (10 s, 30 s,
1 min, ... 4 h) for 24 h from the event, then given up; an endpoint whose tries have all
failed for 24 h is disabled, with the reason shown on its page, and the error logged.
A delivery is taken with a lease (`locked_until`, one conditional UPDATE): two workers never
send the same try, and one that died frees it when the lease ends.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from smsdesk.webhooks import network, services
from smsdesk.webhooks.models import Attempt, Delivery, Endpoint

log = logging.getLogger(__name__)

POOL_SIZE = 4
PER_ENDPOINT = 2
# a try takes at most CONNECT_TIMEOUT + READ_TIMEOUT; a worker killed during one frees it then
LEASE = timedelta(seconds=network.CONNECT_TIMEOUT + network.READ_TIMEOUT + 5)
RETRY_FOR = timedelta(hours=24)
BACKOFF = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400]  # seconds, then 4 h
DISABLED_REASON = gettext_noop(
    "Disabled after 24 hours of failed deliveries. Fix the receiver, then enable it again."
)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF)) - 1])


def due(now: datetime, limit: int, exclude: set[int] = frozenset()) -> list[Delivery]:  # type: ignore[assignment]
    """Deliveries that may be tried now: due, not leased, of an enabled endpoint, and the
    first waiting one of their endpoint and key (order per conversation)."""
    earlier = Delivery.objects.filter(
        state=Delivery.State.PENDING,
        endpoint_id=OuterRef("endpoint_id"),
        order_key=OuterRef("order_key"),
        id__lt=OuterRef("id"),
    )
    return list(
        Delivery.objects.filter(
            state=Delivery.State.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .exclude(id__in=exclude)
        .filter(~Exists(earlier))
        .order_by("id")[:limit]
    )


def deliver(delivery_id: int, *, now: datetime | None = None) -> Attempt | None:
    """One try of one delivery (None: another worker has it, or nothing is due)."""
    now = now or timezone.now()
    taken = (
        Delivery.objects.filter(id=delivery_id, state=Delivery.State.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE)
    )
    if not taken:
        return None
    d = Delivery.objects.select_related("endpoint", "event").get(id=delivery_id)
    body = services.body_of(d.event)
    headers = {
        "Smsdesk-Signature": services.signature(d.endpoint.secret, int(time.time()), body),
        "Smsdesk-Event-Id": f"evt_{d.event_id}",
        "Smsdesk-Event-Type": d.event.type,
    }
    answer = network.post(
        d.endpoint.url, body, headers, allow_private=settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE
    )
    return record(d, answer, now=now + timedelta(milliseconds=answer.duration_ms))


@transaction.atomic
def record(d: Delivery, answer: network.Answer, *, now: datetime, by: str = "") -> Attempt | None:
    """Keep a try and its effect; None when the endpoint was deleted meanwhile."""
    # the worker: by id, whichever organisation the delivery is for
    endpoint = Endpoint.objects.across_orgs().select_for_update().filter(id=d.endpoint_id).first()
    if endpoint is None or not Delivery.objects.filter(id=d.id).exists():
        return None
    attempt = Attempt.objects.create(
        delivery=d,
        at=now,
        status_code=answer.status_code,
        error=answer.error,
        duration_ms=answer.duration_ms,
        by=by,
    )
    d.attempts += 1
    d.locked_until = None
    if answer.ok:
        d.state = Delivery.State.DELIVERED
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
    else:
        if now - d.created_at >= RETRY_FOR:
            d.state = Delivery.State.FAILED
        else:
            d.next_attempt_at = now + backoff(d.attempts)
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            endpoint.save(update_fields=["failing_since"])
        elif endpoint.enabled and now - endpoint.failing_since >= RETRY_FOR:
            endpoint.enabled = False
            endpoint.disabled_reason = DISABLED_REASON
            endpoint.save(update_fields=["enabled", "disabled_reason"])
            log.error(
                "webhook endpoint %s (%s) disabled: every delivery failed for 24 hours",
                endpoint.id,
                endpoint.url,
            )
    d.save(update_fields=["attempts", "locked_until", "state", "next_attempt_at"])
    return attempt


def run_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Try what is due, one by one in this thread (the command line and tests); how many."""
    tried = 0
    seen: set[int] = set()
    while True:
        batch = due(now or timezone.now(), limit, seen)
        if not batch:
            return tried
        for d in batch:
            seen.add(d.id)
            if deliver(d.id, now=now) is not None:
                tried += 1


class Dispatcher(threading.Thread):
    """The worker's webhook thread: picks due deliveries, sends them through its pool."""

    def __init__(self, stopping: threading.Event, *, idle_sleep: float = 1.0) -> None:
        super().__init__(name="webhooks", daemon=True)
        self.stopping = stopping
        self.idle_sleep = idle_sleep
        self.pool = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="webhook")
        self.in_flight: dict[int, tuple[int, Future[None]]] = {}  # delivery -> endpoint

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.step()
                except Exception:
                    log.exception("webhooks: picking deliveries failed, retrying")
                    connection.close()
                    busy = False
                self.stopping.wait(0.05 if busy else self.idle_sleep)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
            connection.close()

    def step(self) -> bool:
        """Hand what is due to free threads; True when some was handed."""
        self.in_flight = {k: v for k, v in self.in_flight.items() if not v[1].done()}
        free = POOL_SIZE - len(self.in_flight)
        if free <= 0:
            return False
        per_endpoint: dict[int, int] = {}
        for endpoint_id, _f in self.in_flight.values():
            per_endpoint[endpoint_id] = per_endpoint.get(endpoint_id, 0) + 1
        handed = 0
        for d in due(timezone.now(), POOL_SIZE * 4, set(self.in_flight)):
            if handed >= free:
                break
            if per_endpoint.get(d.endpoint_id, 0) >= PER_ENDPOINT:
                continue
            per_endpoint[d.endpoint_id] = per_endpoint.get(d.endpoint_id, 0) + 1
            self.in_flight[d.id] = (d.endpoint_id, self.pool.submit(_deliver_in_pool, d.id))
            handed += 1
        return handed > 0


def _deliver_in_pool(delivery_id: int) -> None:
    try:
        deliver(delivery_id)
    except Exception:
        log.exception("webhooks: delivery %s failed", delivery_id)
    finally:
        connection.close()
