"""The call log, and the rule of its optional SMS answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from smsdesk.calls.models import Call
from smsdesk.messaging import gateway_state
from smsdesk.messaging.receiving import normalise_sender
from smsdesk.messaging.sending import queue_automatic_reply
from smsdesk.optout import services as optout


def record_call(*, gateway: str, caller: str, at: datetime) -> Call:
    return Call.objects.create(gateway=gateway, caller=caller[:32], at=at)


def replied_since(caller: str, since: datetime) -> bool:
    """Whether `caller` was already answered by SMS after `since` (one answer a day)."""
    return Call.objects.filter(caller=caller, at__gte=since, reply__isnull=False).exists()


# A caller gets at most one automatic answer in this time.
CALL_REPLY_EVERY = timedelta(days=1)


# Called with each call logged, in its transaction (the webhooks' outbox registers here).
on_call: list[Callable[[Call], None]] = []


@transaction.atomic
def receive_call(*, gateway: str, caller: str, at: datetime) -> Call:
    """Log a call; answer it by SMS when SMSDESK_CALLS_AUTO_REPLY is on, never to a hidden
    number or one on the STOP list, at most once a day per caller."""
    call = _answer(gateway=gateway, caller=caller, at=at)
    for listener in on_call:
        listener(call)
    return call


def _answer(*, gateway: str, caller: str, at: datetime) -> Call:
    number = normalise_sender(caller)
    call = record_call(gateway=gateway, caller=number, at=at)
    text = settings.SMSDESK_CALLS_AUTO_REPLY_TEXT.strip()
    if not (settings.SMSDESK_CALLS_AUTO_REPLY and text and number.startswith("+")):
        return call
    if optout.is_blocked(number) or replied_since(number, timezone.now() - CALL_REPLY_EVERY):
        return call
    gateway_row = gateway_state.ensure(gateway)
    call.reply = queue_automatic_reply(peer=number, gateway=gateway_row, body=text)
    call.save(update_fields=["reply"])
    return call
