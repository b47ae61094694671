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
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from smsdesk.calls import services as calls
from smsdesk.calls.models import Call
from smsdesk.messaging import campaigns, lifecycle
from smsdesk.messaging.models import Campaign, Message
from smsdesk.messaging.sql import db_time
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
    """The lifecycle's batch of changes: one event per change an endpoint listens to.

    Built in the database, not in Python: one `INSERT … SELECT` per 1,000 messages reads the
    changed messages and writes their events, the payload (`shapes.message_data`, the API's
    shape) made by the database's JSON functions (`_message_json`), and returns each event's
    id, organisation and order key for its deliveries. Reading the rows through the ORM,
    converting their datetimes and encoding them again cost about 0.3 ms a message, more than
    the status change itself (bench/RESULTS.md, "Webhook status events in bulk")."""
    kinds = [(c.message_id, event_type_of(c.transition)) for c in changes]
    wanted = [(i, k) for i, k in kinds if k is not None]
    if not wanted:
        return
    endpoints = _endpoints({k for _i, k in wanted if k})
    if not endpoints:
        return
    listening: dict[int, list[Endpoint]] = {}
    for e in endpoints:
        listening.setdefault(e.organisation_id, []).append(e)
    now = timezone.now()
    # A message changed twice in one batch gets two events: layers of distinct ids, in order.
    layers: list[dict[int, str]] = []
    for i, kind in wanted:
        layer = next((layer for layer in layers if i not in layer), None)
        if layer is None:
            layers.append(layer := {})
        layer[i] = kind
    created: list[tuple[int, int, str, str]] = []  # (event id, organisation, order key, type)
    with connection.cursor() as cursor:
        for layer in layers:
            by_kind: dict[str, list[int]] = {}
            for i, kind in layer.items():
                by_kind.setdefault(kind, []).append(i)
            for kind, ids in by_kind.items():
                orgs = sorted(o for o, es in listening.items() if any(kind in e.events for e in es))
                if not orgs:
                    continue
                for start in range(0, len(ids), 1000):
                    created += [
                        (event_id, org, key or "", kind)
                        for event_id, org, key in _insert_message_events(
                            cursor, kind, ids[start : start + 1000], orgs, now
                        )
                    ]
        created.sort()  # ids in the order they were given: deliveries in that order
        at = db_time(now)
        deliveries: list[tuple[Any, ...]] = [
            (endpoint.id, event_id, key[:64], str(Delivery.State.PENDING), 0, at, at)
            for event_id, org, key, kind in created
            for endpoint in listening.get(org, ())
            if kind in endpoint.events
        ]
        _insert_deliveries(cursor, deliveries)


def _timestamp_json(column: str) -> str:
    """A datetime column as DjangoJSONEncoder writes it (ISO 8601 in UTC, milliseconds
    truncated and only when there are microseconds, "Z"), in SQL."""
    if connection.vendor == "postgresql":
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (
            f"CASE WHEN {column} IS NULL THEN NULL ELSE "
            f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN to_char({utc}, 'US') "
            f"= '000000' THEN '' ELSE '.' || left(to_char({utc}, 'US'), 3) END || 'Z' END"
        )
    # SQLite: the text the ORM stores, "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN length({column}) > 19 "
        f"THEN replace(substr({column}, 1, 23), ' ', 'T') || 'Z' "
        f"ELSE replace({column}, ' ', 'T') || 'Z' END"
    )


def _message_json() -> str:
    """`shapes.message_data(m)` of the message table's row `m`, as a JSON object in SQL
    (tests/webhooks/test_bulk_events.py compares the two on every kind of message)."""
    out = f"m.direction = '{Message.Direction.OUTBOUND}'"
    line = "NULLIF(m.gateway_id, '')"
    if connection.vendor == "postgresql":
        build, read = "jsonb_build_object", f"CASE WHEN {out} THEN NULL ELSE 'read' = m.status END"
        metadata = "COALESCE(m.metadata, '{}'::jsonb)"
    else:  # SQLite: a boolean is json('true'), an object json(text)
        build = "json_object"
        read = (
            f"json(CASE WHEN {out} THEN 'null' WHEN 'read' = m.status THEN 'true' ELSE 'false' END)"
        )
        metadata = "json(COALESCE(m.metadata, '{}'))"
    ts = _timestamp_json
    fields = [
        ("id", "m.id"),
        ("direction", "m.direction"),
        ("status", "m.status"),
        ("read", read),
        ("keyword", f"CASE WHEN {out} THEN NULL ELSE NULLIF(m.keyword, '') END"),
        ("to", f"CASE WHEN {out} THEN m.peer ELSE {line} END"),
        ("sender", f"CASE WHEN {out} THEN {line} ELSE m.peer END"),
        ("line", line),
        ("text", "m.body"),
        ("segments", "m.segments"),
        ("encoding", "m.encoding"),
        ("created_at", ts("m.created_at")),
        ("send_at", f"CASE WHEN {out} THEN {ts('m.due_at')} ELSE NULL END"),
        ("sent_at", ts("m.sent_at")),
        ("status_at", ts("m.status_at")),
        ("error", "m.error"),
        ("campaign_id", "m.campaign_id"),
        ("metadata", metadata),
    ]
    return f"{build}(" + ", ".join(f"'{name}', {sql}" for name, sql in fields) + ")"


MESSAGES = Message._meta.db_table


def _insert_message_events(
    cursor: Any, kind: str, ids: Sequence[int], orgs: Sequence[int], now: datetime
) -> list[tuple[int, int, str]]:
    """One event of type `kind` per message of `ids` in one of `orgs`: (event id,
    organisation, order key: the peer), in one statement."""
    params: list[Any]
    if connection.vendor == "postgresql":
        ids_sql, orgs_sql, params = "ANY(%s)", "ANY(%s)", [list(ids), list(orgs)]
    else:
        ids_sql = "(" + ", ".join(["%s"] * len(ids)) + ")"
        orgs_sql = "(" + ", ".join(["%s"] * len(orgs)) + ")"
        params = [*ids, *orgs]
    if connection.vendor == "postgresql":
        ids_sql, orgs_sql = f"= {ids_sql}", f"= {orgs_sql}"
        key = (
            "COALESCE(CASE WHEN data->>'direction' = 'out' THEN data->>'to' "
            "ELSE data->>'sender' END, '')"
        )
    else:
        ids_sql, orgs_sql = f"IN {ids_sql}", f"IN {orgs_sql}"
        key = (
            "COALESCE(CASE WHEN json_extract(data, '$.direction') = 'out' "
            "THEN json_extract(data, '$.to') ELSE json_extract(data, '$.sender') END, '')"
        )
    cursor.execute(
        f"INSERT INTO {EVENTS} (organisation_id, type, created_at, data) "
        f"SELECT m.organisation_id, %s, %s, {_message_json()} FROM {MESSAGES} m "
        f"WHERE m.id {ids_sql} AND m.organisation_id {orgs_sql} ORDER BY m.id "
        f"RETURNING id, organisation_id, {key}",
        [kind, db_time(now), *params],
    )
    return cursor.fetchall()


def _insert_deliveries(cursor: Any, deliveries: Sequence[tuple[Any, ...]]) -> None:
    if deliveries and connection.vendor == "postgresql":
        # arrays, not VALUES lists: psycopg's conversion of a query of thousands of
        # parameters cost more than the insert (bench/RESULTS.md)
        columns = list(zip(*deliveries, strict=True))
        cursor.execute(
            f"INSERT INTO {DELIVERIES} (endpoint_id, event_id, order_key, state, attempts, "
            f"next_attempt_at, created_at) SELECT e, i, k, s, n, a, a FROM unnest(%s::bigint[], "
            f"%s::bigint[], %s::text[], %s::text[], %s::int[], %s::timestamptz[]) "
            f"AS v(e, i, k, s, n, a)",
            [list(columns[c]) for c in range(6)],
        )
        return
    for start in range(0, len(deliveries), ROWS_PER_INSERT):
        rows = deliveries[start : start + ROWS_PER_INSERT]
        cursor.execute(
            f"INSERT INTO {DELIVERIES} (endpoint_id, event_id, order_key, state, "
            f"attempts, next_attempt_at, created_at) VALUES "
            + ", ".join("(%s, %s, %s, %s, %s, %s, %s)" for _row in rows),
            [v for row in rows for v in row],
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
        _insert_deliveries(cursor, deliveries)
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
