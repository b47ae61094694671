"""Receiving: an SMS from a correspondent (whole, or a part of a long one) stored with its
discussion; a STOP or START changes the STOP list in the same transaction (the STOP rule
itself is messaging/stop.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from smsdesk.core import tenancy
from smsdesk.core import text as control
from smsdesk.gateways.base import Concat
from smsdesk.messaging import autoreplies, gateway_state, lifecycle, lines
from smsdesk.messaging.models import (
    MISSING_PART_MARK,
    Conversation,
    GatewayState,
    InboundPart,
    Message,
    UnreadEntry,
)
from smsdesk.messaging.sending import queue_automatic_reply
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOut
from smsdesk.sms import errors as sms_errors
from smsdesk.sms import gsm7, keywords, numbers

UNKNOWN_SENDER = "?"  # a network that sent no sender at all


@transaction.atomic
def receive_inbound(
    *,
    gateway: str,
    sender: str,
    text: str,
    received_at: datetime,
    concat: Concat | None = None,
    delivery_id: str = "",
    destination: str = "",
) -> Message | None:
    """Store an SMS from a correspondent; a STOP puts the sender on the STOP list, a START
    takes it off.

    The same SMS emitted again by its gateway (a crash between our commit and the gateway's
    `acknowledge`) carries the same `delivery_id` (the gateway's identity of that delivery):
    it is stored once. Without one, every SMS is stored, two identical ones in the same
    second too: a genuine repeat is never dropped.

    One transaction: the message and the change of the STOP list (and the confirmation SMS)
    are stored together or not at all, so a crash can never keep one without the other.

    A part of a long SMS (`concat`) is kept until its message is complete: then the whole
    message is stored and returned; before, None. Parts waiting longer than
    SMSDESK_CONCAT_WAIT seconds are stored as they are, missing parts marked.

    Whatever the network sent is stored (a control character becomes U+FFFD): refusing it
    would make the worker try again forever and lose it at the next restart."""
    text = control.from_network(text)
    flush_incomplete_parts(now=timezone.now())
    if concat is not None and concat.total > 1:
        return _receive_part(gateway, sender, text, received_at, concat, destination)
    return _store_inbound(
        gateway=gateway,
        sender=sender,
        text=text,
        received_at=received_at,
        delivery_id=delivery_id,
        destination=destination,
    )


@transaction.atomic
def _receive_part(
    gateway: str,
    sender: str,
    text: str,
    received_at: datetime,
    concat: Concat,
    destination: str = "",
) -> Message | None:
    key = {
        "gateway": gateway,
        "sender": normalise_sender(sender, unknown=UNKNOWN_SENDER),
        "ref": concat.ref,
        "total": concat.total,
    }
    this, created = InboundPart.objects.get_or_create(
        **key,
        seq=concat.seq,
        defaults={
            "text": text,
            "received_at": received_at,
            "stored_at": timezone.now(),
            "destination": destination[:32],
        },
    )
    if not created and this.complete:
        return None  # delivered again: its message is already stored
    parts = list(
        InboundPart.objects.select_for_update().filter(**key, complete=False).order_by("seq")
    )
    if len(parts) < concat.total:
        return None
    return _join_parts(parts, sender=sender)


def flush_incomplete_parts(*, now: datetime) -> int:
    """Store the long SMS whose parts stopped coming, with a mark where parts are missing.
    Returns how many messages were stored."""
    cutoff = now - timedelta(seconds=settings.SMSDESK_CONCAT_WAIT)
    InboundPart.objects.filter(complete=True, stored_at__lt=cutoff).delete()  # platform-level
    keys = set(
        InboundPart.objects.filter(complete=False, stored_at__lt=cutoff).values_list(
            "gateway", "sender", "ref", "total"
        )
    )
    stored = 0
    for gateway, sender, ref, total in keys:
        with transaction.atomic():
            parts = list(
                InboundPart.objects.select_for_update()
                .filter(gateway=gateway, sender=sender, ref=ref, total=total, complete=False)
                .order_by("seq")
            )
            if parts:
                _join_parts(parts, sender=sender)
                stored += 1
    return stored


def _join_parts(parts: list[InboundPart], *, sender: str) -> Message:
    by_seq = {p.seq: p.text for p in parts}
    total = parts[0].total
    text = "".join(
        by_seq.get(seq, MISSING_PART_MARK.format(seq=seq, total=total))
        for seq in range(1, total + 1)
    )
    InboundPart.objects.filter(id__in=[p.id for p in parts]).update(
        complete=True, stored_at=timezone.now()
    )
    return _store_inbound(
        gateway=parts[0].gateway,
        sender=sender,
        text=text,
        received_at=min(p.received_at for p in parts),
        destination=next((p.destination for p in parts if p.destination), ""),
    )


def _store_inbound(
    *,
    gateway: str,
    sender: str,
    text: str,
    received_at: datetime,
    delivery_id: str = "",
    destination: str = "",
) -> Message:
    peer = normalise_sender(sender, unknown=UNKNOWN_SENDER)
    text = control.from_network(text)
    gateway_row = gateway_state.ensure(gateway)
    # what comes in on a line is its organisation's (a shared line: the one whose sender it
    # was addressed to, messaging/lines.py)
    org = lines.organisation_of_inbound(gateway, destination=destination, peer=peer)
    delivery_id = delivery_id[:64]
    if delivery_id:
        # Emitted again (not acknowledged before a crash): the same delivery of the same
        # gateway. Cheap: the (peer, created_at) index finds it.
        again = (
            Message.objects.for_org(org)
            .filter(
                peer=peer,
                created_at=received_at,
                direction=Message.Direction.INBOUND,
                gateway=gateway_row,
                gateway_ref=delivery_id,
            )
            .first()
        )
        if again is not None:
            return again
    info = gsm7.analyse(text)
    keyword = keywords.classify(
        text, opt_out=settings.SMSDESK_STOP_KEYWORDS, opt_in=settings.SMSDESK_START_KEYWORDS
    )
    message = lifecycle.create_inbound(
        Message(
            organisation=org,
            direction=Message.Direction.INBOUND,
            peer=peer,
            gateway=gateway_row,
            body=text,
            encoding=info.encoding.value,
            segments=max(1, info.segments),
            created_at=received_at,
            status_at=received_at,
            gateway_ref=delivery_id,
            keyword=keyword.value if keyword else "",
        )
    )
    # get_or_create survives two first messages from one number arriving together.
    Conversation.objects.for_org(org).get_or_create(
        organisation=org,
        peer=peer,
        defaults={"last_at": received_at, "last_body": "", "last_direction": "in"},
    )
    Conversation.objects.for_org(org).filter(peer=peer).update(
        last_at=received_at,
        last_body=text[:160],
        last_direction=Message.Direction.INBOUND,
        unread_count=F("unread_count") + 1,
        line=gateway_row.name,  # replies leave by it (messaging/routing.py)
    )
    if keyword is keywords.Keyword.STOP:
        # What waits for the number is blocked with it (messaging/stop.py).
        _entry, created = optout.opt_out(
            peer, source=OptOut.Source.SMS, org=org, keyword=text, at=received_at
        )
        if created:
            _confirm_opt_out(peer, gateway_row, org)
    elif keyword is keywords.Keyword.START:
        optout.opt_in(peer, source=OptOut.Source.SMS, org=org, text=text, at=received_at)
    else:
        # Keyword auto-replies, only after STOP and START (which they cannot override).
        autoreplies.answer(message, gateway_row)
    return message


def _confirm_opt_out(peer: str, gateway: GatewayState, org: Any) -> Message | None:
    """Queue the confirmation of a first STOP (as set on the SMS STOP page, or the
    SMSDESK_STOP_CONFIRMATION* settings), unless this number got one within its delay (a
    STOP, START, STOP in a row)."""
    wanted = optout.confirmation(org=org)
    if not wanted.sends or not peer.startswith("+"):
        return None
    now = timezone.now()
    since = now - timedelta(hours=wanted.delay_hours)
    recent = Message.objects.for_org(org).filter(
        peer=peer, direction=Message.Direction.OUTBOUND, opt_out_notice=True, created_at__gte=since
    )
    if recent.exists():
        return None
    return queue_automatic_reply(
        peer=peer, gateway=gateway, body=wanted.text, org=org, opt_out_notice=True
    )


def normalise_sender(sender: str, *, unknown: str = "") -> str:
    # A sender can be an alphanumeric name ("BANK") or a short code: keep those as they are,
    # whatever their characters (pages link to a conversation by its id, never by this text).
    sender = control.from_network(sender, multiline=False).strip()
    try:
        return numbers.normalise(sender, default_region=settings.SMSDESK_DEFAULT_REGION)
    except sms_errors.InvalidNumber:
        return sender[:32] or unknown  # a hidden caller stays "", an SMS needs a peer


def unread_total(*, org: Any = None) -> int:
    """How many SMS are unread, for the menu badge on every page.

    Counted in `UnreadEntry` (one narrow row per unread message, read through its
    organisation-led index), not over messages (no index on status: it would stop
    PostgreSQL's in-place updates of the worker's status changes) nor summed over the
    conversations (every discussion of the organisation read on every page: 20 ms at
    100,000 correspondents, bench/RESULTS.md issue 21).
    """
    return UnreadEntry.objects.for_org(tenancy.resolve(org)).count()
