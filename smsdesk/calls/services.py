"""The call log, and the rule of its optional SMS answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from smsdesk.calls.models import Call
from smsdesk.core import tenancy
from smsdesk.messaging import gateway_state, lines
from smsdesk.messaging.receiving import normalise_sender
from smsdesk.messaging.sending import queue_automatic_reply
from smsdesk.optout import services as optout


def record_call(*, gateway: str, caller: str, at: datetime, org: Any = None) -> Call:
    org = tenancy.resolve(org)
    return Call.objects.create(organisation=org, gateway=gateway, caller=caller[:32], at=at)


def replied_since(caller: str, since: datetime, *, org: Any) -> bool:
    """Whether `caller` was already answered by SMS after `since` (one answer a day)."""
    calls = Call.objects.for_org(org)
    return calls.filter(caller=caller, at__gte=since, reply__isnull=False).exists()


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
    org = lines.organisation_of_line(gateway)  # a call on a line is its organisation's
    call = record_call(gateway=gateway, caller=number, at=at, org=org)
    text = settings.SMSDESK_CALLS_AUTO_REPLY_TEXT.strip()
    if not (settings.SMSDESK_CALLS_AUTO_REPLY and text and number.startswith("+")):
        return call
    if optout.is_blocked(number, org=org) or replied_since(
        number, timezone.now() - CALL_REPLY_EVERY, org=org
    ):
        return call
    gateway_row = gateway_state.ensure(gateway)
    call.reply = queue_automatic_reply(peer=number, gateway=gateway_row, body=text, org=org)
    call.save(update_fields=["reply"])
    return call
