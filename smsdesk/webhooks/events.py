"""Events into the webhooks' outbox, in the transaction of the change they tell of.

`register()` plugs `on_changes` into `messaging.lifecycle.subscribers` (every status change)
and the STOP list's and the call log's hooks. Each writes one `Event` per change, in the
organisation of the changed row, and one `Delivery` per enabled endpoint of that organisation
subscribed to its type, in the caller's transaction: a crash keeps both the change and its
deliveries, or neither. An organisation's endpoints never hear of another's changes.

The lifecycle's fast paths (PostgreSQL's one-statement claim, results and reports) skip
collecting changes nobody wants: `on_changes.wants(transition)` answers from the set of event
types the enabled endpoints listen to, read at most every `CACHE_SECONDS` per process (an
endpoint created in another process is heard of within that time; in this process at once).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from smsdesk.calls import services as calls
from smsdesk.calls.models import Call
from smsdesk.messaging import campaigns, lifecycle, shapes
from smsdesk.messaging.models import Campaign, Message
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOutEvent
from smsdesk.webhooks.models import Delivery, Endpoint, Event, EventType

S = Message.Status
# message.status: each change to one of these (not the worker's own steps: queued, sending)
STATUS_EVENTS = frozenset({S.SENT, S.DELIVERED, S.FAILED, S.UNKNOWN, S.BLOCKED})

EVENTS = Event._meta.db_table
DELIVERIES = Delivery._meta.db_table
ROWS_PER_INSERT = 300  # 7 parameters a row: well under SQLite's limit of 32,766

CACHE_SECONDS = 2.0
_types: tuple[float, frozenset[str]] = (float("-inf"), frozenset())


def subscribed_types() -> frozenset[str]:
    """The event types some enabled endpoint listens to (cached, see the module's doc)."""
    global _types
    read_at, types = _types
    if time.monotonic() - read_at < CACHE_SECONDS:
        return types
    types = frozenset(
        t
        # every organisation's: only whether anyone listens (emit matches per organisation)
        for events in Endpoint.objects.across_orgs()
        .filter(enabled=True)
        .values_list("events", flat=True)
        for t in events
    )
    _types = (time.monotonic(), types)
    return types


def forget() -> None:
    """The endpoints changed: read them again at the next change."""
    global _types
    _types = (float("-inf"), frozenset())


def event_type_of(t: lifecycle.Transition) -> str | None:
    if t.event == EventType.MESSAGE_RECEIVED:
        return EventType.MESSAGE_RECEIVED
    if t.target in STATUS_EVENTS:
        return EventType.MESSAGE_STATUS
    return None


def _wants(t: lifecycle.Transition) -> bool:
    kind = event_type_of(t)
    return kind is not None and kind in subscribed_types()


def on_changes(changes: Sequence[lifecycle.Change]) -> None:
    """The lifecycle's batch of changes: one event per change an endpoint listens to."""
    kinds = [(c.message_id, event_type_of(c.transition)) for c in changes]
    kinds = [(i, k) for i, k in kinds if k is not None]
    if not kinds:
        return
    endpoints = _endpoints({k for _i, k in kinds if k})
    if not endpoints:
        return
    messages: dict[int, SimpleNamespace] = {}
    ids = list({i for i, _k in kinds})
    for start in range(0, len(ids), 1000):
        # by id, from the batch just changed (whichever organisations it holds)
        rows = (
            Message.objects.across_orgs()
            .filter(id__in=ids[start : start + 1000])
            .values("organisation_id", *shapes.FIELDS)
        )
        messages.update((row["id"], SimpleNamespace(**row)) for row in rows)
    now = timezone.now()
    emit(
        [
            (
                messages[i].organisation_id,
                kind,
                shapes.message_data(messages[i]),
                messages[i].peer,
                now,
            )
            for i, kind in kinds
            if kind and i in messages
        ],
        endpoints,
    )


on_changes.wants = _wants  # type: ignore[attr-defined]


def _endpoints(types: set[str]) -> list[Endpoint]:
    """Every organisation's enabled endpoints listening to one of `types` (emit gives each
    event to its own organisation's only)."""
    return [e for e in Endpoint.objects.across_orgs().filter(enabled=True) if types & set(e.events)]


# (organisation id, type, data, order key, time)
Item = tuple[int, str, dict[str, Any], str, datetime]


def emit(items: Iterable[Item], endpoints: list[Endpoint] | None = None) -> int:
    """Write events (organisation, type, data, order key, time) and their deliveries to
    that organisation's endpoints; returns how many deliveries. In the caller's
    transaction."""
    items = list(items)
    if endpoints is None:
        endpoints = _endpoints({kind for _org, kind, *_rest in items})
    if not items or not endpoints:
        return 0
    listening: dict[int, list[Endpoint]] = {}
    for e in endpoints:
        listening.setdefault(e.organisation_id, []).append(e)
    wanted = [
        (org, kind, data, key, at)
        for org, kind, data, key, at in items
        if any(kind in e.events for e in listening.get(org, ()))
    ]
    # Plain multi-row INSERTs: the worker writes these in its batches' transactions, where
    # bulk_create's SQL building cost more than the rest of the batch (bench/RESULTS.md).
    encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))
    json_mark = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    event_ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), ROWS_PER_INSERT):
            chunk = wanted[start : start + ROWS_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {EVENTS} (organisation_id, type, created_at, data) VALUES "
                + ", ".join(f"(%s, %s, %s, {json_mark})" for _row in chunk)
                + " RETURNING id",
                [
                    v
                    for org, kind, data, _k, at in chunk
                    for v in (org, kind, at, encoder.encode(data))
                ],
            )
            # RETURNING gives the rows in the order of VALUES on SQLite and PostgreSQL (as
            # Django's bulk_create relies on)
            event_ids += [row[0] for row in cursor.fetchall()]
        deliveries: list[tuple[Any, ...]] = [
            (endpoint.id, event_id, key[:64], str(Delivery.State.PENDING), 0, at, at)
            for event_id, (org, kind, _data, key, at) in zip(event_ids, wanted, strict=True)
            for endpoint in listening.get(org, ())
            if kind in endpoint.events
        ]
        for start in range(0, len(deliveries), ROWS_PER_INSERT):
            rows = deliveries[start : start + ROWS_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {DELIVERIES} (endpoint_id, event_id, order_key, state, "
                f"attempts, next_attempt_at, created_at) VALUES "
                + ", ".join("(%s, %s, %s, %s, %s, %s, %s)" for _row in rows),
                [v for row in rows for v in row],
            )
    return len(deliveries)


def on_optout_change(event: OptOutEvent) -> None:
    kind = (
        EventType.OPTOUT_ADDED
        if event.action == OptOutEvent.Action.ADDED
        else EventType.OPTOUT_REMOVED
    )
    if kind not in subscribed_types():
        return
    data = {
        "number": event.number,
        "at": event.at,
        "source": event.source,
        "by": event.by_name or None,
        "reason": event.reason,
        "message": event.text,
    }
    emit([(event.organisation_id, kind, data, event.number, event.at)])


def on_call(call: Call) -> None:
    if EventType.CALL_RECEIVED not in subscribed_types():
        return
    data = {
        "id": call.id,
        "caller": call.caller or None,
        "at": call.at,
        "gateway": call.gateway,
        "replied": call.reply_id is not None,
    }
    emit([(call.organisation_id, EventType.CALL_RECEIVED, data, call.caller or "", call.at)])


def on_campaigns_finished(campaign_ids: Sequence[int], now: datetime) -> None:
    """campaign.finished: once per campaign, in the transaction of its last message's change
    (lifecycle.settle_campaigns), after that change's own message.status event."""
    if EventType.CAMPAIGN_FINISHED not in subscribed_types():
        return
    # by id, from the change just made (whichever organisations they belong to): each
    # event goes to its campaign's organisation's endpoints only (emit)
    found = Campaign.objects.across_orgs().select_related("author").in_bulk(list(campaign_ids))
    counted = campaigns.counts(found)
    emit(
        [
            (
                found[cid].organisation_id,
                EventType.CAMPAIGN_FINISHED,
                campaigns.campaign_data(found[cid], counted[cid]),
                f"campaign:{cid}",
                now,
            )
            for cid in campaign_ids
            if cid in found
        ]
    )


def register() -> None:
    if on_changes not in lifecycle.subscribers:
        lifecycle.subscribers.append(on_changes)
    if on_campaigns_finished not in lifecycle.campaign_subscribers:
        lifecycle.campaign_subscribers.append(on_campaigns_finished)
    if on_optout_change not in optout.on_change:
        optout.on_change.append(on_optout_change)
    if on_call not in calls.on_call:
        calls.on_call.append(on_call)
