"""Providers' callbacks: received SMS and delivery states pushed to smsdesk over HTTP.

The endpoint (`views.callback`) is outside the login: it is authenticated by a secret in its
URL, one per line (an HMAC of the line's name with SECRET_KEY, compared in constant time),
and by the provider's own signature when it signs (Twilio's X-Twilio-Signature, SMSGate's
X-Signature). A forged one is refused (403) and logged, its body never read into the
database.

It answers as soon as what the callback says is stored: a received SMS through the same
receive service as a modem's (`receiving.receive_inbound`: STOP and START, the
conversation, auto-replies), a delivery state through the same report path
(`outbox.record_reports`, which matches the part and moves the message by the lifecycle; a
report before its part is recorded waits in `UnmatchedReport`). Each item is stored once:
its `CallbackReceipt` row (line, provider id + kind) is inserted in the same transaction, so
a replayed callback changes nothing and a failure stores nothing (the provider tries again).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from smsdesk.gateways import registry
from smsdesk.gateways.base import Gateway, InboundSMS, StatusReport
from smsdesk.gateways.http.provider import CallbackItem
from smsdesk.messaging import gateway_state, outbox, receiving
from smsdesk.worker.models import CallbackReceipt

log = logging.getLogger(__name__)


def secret_for(line: str) -> str:
    """The secret part of a line's callback URL (stable while SECRET_KEY is)."""
    mac = hmac.new(
        settings.SECRET_KEY.encode(), f"smsdesk-callback:{line}".encode(), hashlib.sha256
    )
    return mac.hexdigest()[:32]


def secret_matches(line: str, given: str) -> bool:
    return hmac.compare_digest(secret_for(line).encode(), given.encode())


def callback_gateway(line: str) -> Gateway | None:
    """The configured line `line` when it takes callbacks (an HTTP provider, SMSGate)."""
    return _built(tuple(settings.SMSDESK_GATEWAYS)).get(line)


@lru_cache(maxsize=4)
def _built(entries: tuple[str, ...]) -> dict[str, Gateway]:
    lines = {}
    for spec in registry.configured(entries):
        gateway = registry.build(spec)  # opens nothing
        if hasattr(gateway, "callback"):
            lines[spec.name] = gateway
    return lines


def takes_callbacks(line: str) -> bool:
    return callback_gateway(line) is not None


def record(line: str, items: Sequence[CallbackItem], *, now: datetime | None = None) -> int:
    """Store what a callback said; returns how many items were new."""
    now = now or timezone.now()
    new = 0
    for item in items:
        with transaction.atomic():
            if item.key and not _first_time(line, item.key, now):
                continue
            new += 1
            event = item.event
            if isinstance(event, InboundSMS):
                gateway_state.ensure(line)
                receiving.receive_inbound(
                    gateway=line,
                    sender=event.sender,
                    text=event.text,
                    received_at=event.received_at,
                    concat=event.concat,
                    delivery_id=event.delivery_id,
                    destination=event.destination,
                )
            elif isinstance(event, StatusReport):
                outbox.record_reports([event], now=now)
    return new


def _first_time(line: str, key: str, now: datetime) -> bool:
    try:
        with transaction.atomic():  # a savepoint: PostgreSQL's transaction survives the conflict
            CallbackReceipt.objects.create(gateway=line, key=key[:200], received_at=now)
    except IntegrityError:
        log.info("callback %s of line %s already stored: replay ignored", key[:80], line)
        return False
    return True


def purge(*, older_than: datetime) -> int:
    deleted, _ = CallbackReceipt.objects.filter(received_at__lt=older_than).delete()
    return deleted
