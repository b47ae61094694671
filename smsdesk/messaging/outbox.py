"""The outbox: the worker's side of the messaging rules.

Every function here is one short write transaction on many rows at once, because the worker
works in batches (DESIGN.md, "Throughput"): claim up to N due messages in one statement, hand
them to the gateway, record the N results in one round trip.

No message is sent twice: a message is handed to a gateway only after this worker has moved it
from `queued` (or `scheduled`) to `sending` in the claim, which at most one worker can do (a
conditional UPDATE on the message's status; on PostgreSQL the queue rows are locked with SKIP
LOCKED, so two workers take disjoint batches). A worker that dies leaves its `sending` rows to
`recover_in_flight`, which marks them `unknown`, never `queued` again.

Why the tables look the way they do (bench/RESULTS.md): a waiting message has a row in the
narrow `OutboxEntry` queue, which the claim deletes; reports find a message through its
`MessagePart` rows. So no index of the wide message table names a column the worker changes,
and PostgreSQL rewrites a message in place at each status change (a HOT update) instead of
adding an entry to every index each time. Whatever queues a message calls `enqueue`
(`enqueue_strays` catches a message queued by code that forgot, within seconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_noop

from smsdesk.gateways.base import DeliveryState, OutboundSMS, Outcome, SendResult, StatusReport
from smsdesk.messaging import stats
from smsdesk.messaging.models import (
    BLOCKED_REASON,
    CountDelta,
    Message,
    MessagePart,
    OutboxEntry,
    UnmatchedReport,
)
from smsdesk.optout import services as optout

S = Message.Status
P = MessagePart.State
TABLE = Message._meta.db_table
PARTS = MessagePart._meta.db_table
QUEUE = OutboxEntry._meta.db_table
UNMATCHED = UnmatchedReport._meta.db_table
DELTAS = CountDelta._meta.db_table
E = stats.Event
WAITING = (S.QUEUED, S.SCHEDULED)  # the statuses a claim takes

# Reasons are stored in English and translated when shown (templates: {% translate %}).
IN_FLIGHT_REASON = gettext_noop(
    "The worker stopped while it was handing this message to the network: it may or may "
    "not have been sent. It is not sent again on its own; check with the recipient, then "
    "retry if needed."
)


def _db(value: datetime) -> object:
    # Raw SQL must store datetimes exactly as the ORM does (text in SQLite).
    return connection.ops.adapt_datetimefield_value(value)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _pg_bound(sql: str, params: Sequence[object]) -> list[tuple]:
    """PostgreSQL: run one of the statements of every batch with its values bound on the
    server (Django interpolates them into the SQL text: for 500-element arrays, quoting
    and parsing that text cost more than the update itself; bench/RESULTS.md)."""
    import psycopg

    with psycopg.Cursor(connection.connection) as cursor:
        # Arrays (`%s::type[]`) travel in binary: quicker to dump than their text form.
        cursor.execute(sql.replace("%s::", "%b::"), params)
        return cursor.fetchall() if cursor.description else []


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: 30 s, 1 min, 2 min, ... at most 1 h."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


# --- queueing ---------------------------------------------------------------------------


def enqueue(messages: Iterable[Message]) -> int:
    """Put waiting outbound messages in the queue the worker claims from (call it in the
    transaction that makes them `queued` or `scheduled`)."""
    entries = [
        OutboxEntry(message_id=m.pk, gateway_id=m.gateway_id, due_at=m.due_at or m.created_at)
        for m in messages
        if m.status in WAITING and m.direction == Message.Direction.OUTBOUND and m.gateway_id
    ]
    OutboxEntry.objects.bulk_create(
        entries,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["message_id"],
        update_fields=["gateway_id", "due_at"],
    )
    return len(entries)


def dequeue(messages: QuerySet[Message]) -> int:
    """Take out of the queue the rows of messages no longer waiting (cancelled, blocked), so
    that the queue's size is what waits. (The claim would skip them anyway.)"""
    deleted, _ = OutboxEntry.objects.filter(message_id__in=messages.values("id")).delete()
    return deleted


def enqueue_campaign(campaign_id: int) -> int:
    """Queue the waiting messages of a campaign just written (one statement, any size)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {QUEUE} (message_id, gateway_id, due_at) "
            f"SELECT id, gateway_id, COALESCE(due_at, created_at) FROM {TABLE} "
            f"WHERE campaign_id = %s AND status IN (%s, %s) AND gateway_id IS NOT NULL "
            f"ON CONFLICT (message_id) DO NOTHING",
            [campaign_id, *WAITING],
        )
        return cursor.rowcount


def enqueue_strays(*, since: datetime | None = None) -> int:
    """Queue the waiting messages that have no queue row (written by code that did not call
    `enqueue`); with `since`, only those created since then (uses the list index)."""
    recent = "AND m.created_at >= %s " if since else ""
    sql = (
        f"INSERT INTO {QUEUE} (message_id, gateway_id, due_at) "
        f"SELECT m.id, m.gateway_id, COALESCE(m.due_at, m.created_at) FROM {TABLE} m "
        f"WHERE m.direction = %s AND m.status IN (%s, %s) AND m.gateway_id IS NOT NULL {recent}"
        f"AND NOT EXISTS (SELECT 1 FROM {QUEUE} q WHERE q.message_id = m.id) "
        f"ON CONFLICT (message_id) DO NOTHING"
    )
    params: list[object] = [Message.Direction.OUTBOUND, *WAITING]
    if since:
        params.append(_db(since))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _requeue(cursor, message_ids: Sequence[int]) -> None:  # type: ignore[no-untyped-def]
    """Queue rows for messages just made `queued` again (their due time is the message's)."""
    for chunk in _chunks(message_ids, 900):
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            f"INSERT INTO {QUEUE} (message_id, gateway_id, due_at) "
            f"SELECT id, gateway_id, due_at FROM {TABLE} "
            f"WHERE id IN ({marks}) AND status = %s AND gateway_id IS NOT NULL "
            f"ON CONFLICT (message_id) DO UPDATE SET due_at = excluded.due_at",
            [*chunk, S.QUEUED],
        )


# --- claiming ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    sms: OutboundSMS
    attempts: int


def claim(*, gateway: str, worker_id: str, limit: int, now: datetime) -> list[Claimed]:
    """Move up to `limit` due messages of `gateway` to `sending`, for us; oldest first."""
    set_clause = "status = %s, claimed_by = %s, attempts = m.attempts + 1, status_at = %s"
    returning = "RETURNING id, peer, body, attempts, opt_out_notice"  # unqualified: SQLite
    with transaction.atomic(), connection.cursor() as cursor:
        if _pg():
            # MATERIALIZED so that the LIMIT applies once: with a plain
            # `id IN (SELECT ... LIMIT n SKIP LOCKED)` the planner may run the subquery again
            # per row and claim far more than n rows (seen here: 2,000 for a limit of 20).
            rows = _pg_bound(
                f"WITH picked AS MATERIALIZED (SELECT message_id FROM {QUEUE} "
                f"WHERE gateway_id = %s AND due_at <= %s ORDER BY due_at, message_id "
                f"LIMIT %s FOR UPDATE SKIP LOCKED), "
                f"gone AS (DELETE FROM {QUEUE} q USING picked "
                f"WHERE q.message_id = picked.message_id RETURNING q.message_id) "
                # No join with `gone`: the planner cannot know its size and joined it
                # row by row (500 x 500 comparisons); the array is read by primary key.
                f"UPDATE {TABLE} m SET {set_clause} "
                f"WHERE m.id = ANY(ARRAY(SELECT message_id FROM gone)) "
                f"AND m.status IN (%s, %s) {returning}",
                [gateway, now, limit, S.SENDING, worker_id, now, *WAITING],
            )
        else:
            # SQLite runs one writer at a time (BEGIN IMMEDIATE): the DELETE is the claim.
            cursor.execute(
                f"DELETE FROM {QUEUE} WHERE message_id IN (SELECT message_id FROM {QUEUE} "
                f"WHERE gateway_id = %s AND due_at <= %s ORDER BY due_at, message_id LIMIT %s) "
                f"RETURNING message_id",
                [gateway, _db(now), limit],
            )
            ids = [r[0] for r in cursor.fetchall()]
            rows = []
            for chunk in _chunks(ids, 900):
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"UPDATE {TABLE} AS m SET {set_clause} "
                    f"WHERE m.id IN ({marks}) AND m.status IN (%s, %s) {returning}",
                    [S.SENDING, worker_id, _db(now), *chunk, *WAITING],
                )
                rows.extend(cursor.fetchall())
        blocked = _blocked_at_claim(rows)
        if blocked:
            n_blocked = Message.objects.filter(id__in=blocked).update(
                status=S.BLOCKED, error=BLOCKED_REASON, status_at=now, claimed_by=""
            )
            stats.count(E.BLOCKED, at=now, gateway=None, n=n_blocked)
            rows = [r for r in rows if r[0] not in blocked]
    rows.sort()  # RETURNING gives no order; send oldest first
    return [Claimed(OutboundSMS(id=r[0], to=r[1], text=r[2]), r[3]) for r in rows]


def _blocked_at_claim(rows: Sequence[tuple]) -> set[int]:
    """Last check before the network, the one place it is made: a number may have said STOP
    since the message was saved (a scheduled campaign, or a STOP that arrived as the message
    was written). Except the confirmation of a STOP, which goes to a number on the list by
    then. `rows` are the claim's (id, peer, body, attempts, opt_out_notice)."""
    blocked_numbers = optout.blocked_among({r[1] for r in rows})
    return {r[0] for r in rows if r[1] in blocked_numbers and not r[4]}


def release(message_ids: Sequence[int], *, reason: str, now: datetime) -> int:
    """Nothing of these left us (the gateway was unreachable): back to `queued`, the try
    given back, due at once."""
    if not message_ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        count = 0
        for chunk in _chunks(message_ids, 900):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {TABLE} SET status = %s, claimed_by = '', error = %s, status_at = %s, "
                f"due_at = %s, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
                f"WHERE id IN ({marks}) AND status = %s",
                [S.QUEUED, reason[:255], _db(now), _db(now), *chunk, S.SENDING],
            )
            count += cursor.rowcount
        _requeue(cursor, message_ids)
    return count


def release_unheld(*, worker_id: str, gateway: str, held: Iterable[int], now: datetime) -> int:
    """Messages this worker claimed but does not hold (the claim committed while the
    connection dropped, so the worker never got them): nothing was handed over, queue them."""
    held = set(held)
    ids = [
        i
        for i in Message.objects.filter(
            status=S.SENDING, claimed_by=worker_id, gateway_id=gateway
        ).values_list("id", flat=True)
        if i not in held
    ]
    return release(ids, reason="", now=now)


# --- results ----------------------------------------------------------------------------

GATEWAY_BROKE = gettext_noop("The gateway failed while sending: it may or may not have been sent.")


@dataclass(frozen=True, slots=True)
class Recorded:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    unknown: int = 0


def record_results(
    results: Sequence[SendResult],
    *,
    attempts: dict[int, int],
    now: datetime,
    gateway: str | None = None,
) -> Recorded:
    """Store what the `gateway` said of each claimed message (of that gateway), in one
    transaction.

    A result for a message that another worker meanwhile marked `unknown` (ours looked dead
    while the database was away) still counts: we know better.
    """
    max_attempts = settings.SMSDESK_MAX_ATTEMPTS
    sent, parts, retry, failed, released, unknown = [], [], [], [], [], []
    for r in results:
        if r.outcome is Outcome.ACCEPTED:
            sent.append((r.reference[:64], r.message_id))
            parts.extend(_parts_of(r))
        elif r.outcome is Outcome.REFUSED:
            tries = attempts.get(r.message_id, max_attempts)
            if not r.permanent and tries < max_attempts:
                retry.append((r.error[:255], _db(now + retry_delay(tries)), r.message_id))
            else:
                failed.append((r.error[:255], r.message_id))
        elif r.outcome is Outcome.NOT_HANDED_OVER:
            released.append(r.message_id)
        else:
            unknown.append((r.error[:255] or GATEWAY_BROKE, r.message_id))
            parts.extend(_parts_of(r))
    if results and gateway is None:
        gateway = (
            Message.objects.filter(id=results[0].message_id)
            .values_list("gateway_id", flat=True)
            .first()
        ) or ""
    today = stats.local_day(now)
    mine = f"m.status IN ('{S.SENDING}', '{S.UNKNOWN}')"
    sent_sql = (
        f"status = '{S.SENT}', gateway_ref = v.ref, sent_at = %s, status_at = %s, "
        "claimed_by = '', error = ''"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if _pg() and sent:
            # One round trip for the messages and their parts (a data-modifying CTE).
            [(n_sent,)] = _pg_bound(
                f"WITH v(ref, id) AS (SELECT * FROM unnest(%s::text[], %s::bigint[])), "
                f"sent AS (UPDATE {TABLE} AS m SET {sent_sql} FROM v "
                f"WHERE m.id = v.id AND {mine} AND m.id = ANY(ARRAY(SELECT id FROM v)) "
                f"RETURNING m.id), "
                f"parts AS ({_PARTS_INSERT_PG} RETURNING 1), "
                # The counter in the same statement: no round trip of its own.
                f"counted AS (INSERT INTO {DELTAS} (day, gateway, event, count) "
                f"SELECT %s, %s, '{E.SENT}', count(*) FROM sent HAVING count(*) > 0 "
                f"RETURNING 1) "
                f"SELECT count(*) FROM sent",
                [
                    *map(list, zip(*sent, strict=True)),
                    now,
                    now,
                    gateway,
                    *map(list, zip(*parts, strict=True)),
                    today,
                    gateway,
                ],
            )
            parts = []  # all written above
            counted_sent = 0  # counted above
        else:
            n_sent = len(
                _update_from_values(
                    cursor,
                    sent,
                    columns=(("ref", "text"), ("id", "bigint")),
                    set_sql=sent_sql,
                    set_params=(_db(now), _db(now)),
                    where_sql=f"m.id = v.id AND {mine}",
                )
            )
            counted_sent = n_sent
        _insert_parts(cursor, parts, gateway)
        n_retry = _update_from_values(
            cursor,
            retry,
            columns=(("error", "text"), ("due", "timestamptz"), ("id", "bigint")),
            set_sql=f"status = '{S.QUEUED}', error = v.error, due_at = v.due, status_at = %s, "
            "claimed_by = ''",
            set_params=(_db(now),),
            where_sql=f"m.id = v.id AND m.status = '{S.SENDING}'",
        )
        _requeue(cursor, [r[-1] for r in retry])
        n_failed = _update_from_values(
            cursor,
            failed,
            columns=(("error", "text"), ("id", "bigint")),
            set_sql=f"status = '{S.FAILED}', error = v.error, status_at = %s, claimed_by = ''",
            set_params=(_db(now),),
            where_sql=f"m.id = v.id AND m.status = '{S.SENDING}'",
        )
        n_unknown = _update_from_values(
            cursor,
            unknown,
            columns=(("error", "text"), ("id", "bigint")),
            set_sql=f"status = '{S.UNKNOWN}', error = v.error, status_at = %s, claimed_by = ''",
            set_params=(_db(now),),
            where_sql=f"m.id = v.id AND m.status = '{S.SENDING}'",
        )
        stats.add(
            [
                (today, gateway, E.SENT, counted_sent),
                (today, gateway, E.FAILED, len(n_failed)),
                (today, gateway, E.UNKNOWN, len(n_unknown)),
            ]
        )
    n_released = 0
    if released:
        reason = next(r.error for r in results if r.outcome is Outcome.NOT_HANDED_OVER)
        n_released = release(released, reason=reason, now=now)
    return Recorded(n_sent, len(n_retry), len(n_failed), n_released, len(n_unknown))


def _parts_of(result: SendResult) -> list[tuple[int, int, int, str]]:
    total = len(result.references)
    return [
        (result.message_id, seq, total, ref[:64]) for seq, ref in enumerate(result.references, 1)
    ]


# Written again after a lost commit acknowledgement (same references), or when a user
# retried the message (new references): the last hand-over's part is the one to match.
_PARTS_CONFLICT = (
    "ON CONFLICT (message_id, seq) DO UPDATE SET reference = excluded.reference, "
    f"total = excluded.total, gateway_id = excluded.gateway_id, state = '{P.SENT}', "
    f"detail = '', reported_at = NULL WHERE {PARTS}.reference <> excluded.reference"
)
_PARTS_COLUMNS = (
    f"INSERT INTO {PARTS} (message_id, seq, total, gateway_id, reference, state, detail) "
)
# The gateway is given (all the messages of a batch share theirs): joining the message
# table for it made PostgreSQL read the whole table for each batch.
_PARTS_SELECT = f"SELECT p.id, p.seq, p.total, %s, p.ref, '{P.SENT}', '' FROM p WHERE true "
_PARTS_FROM_ARRAYS = (
    "FROM (SELECT * FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::text[])) "
    "AS p(id, seq, total, ref) "
)
_PARTS_INSERT_PG = (
    f"{_PARTS_COLUMNS}{_PARTS_SELECT.replace('FROM p ', _PARTS_FROM_ARRAYS)}{_PARTS_CONFLICT}"
)


def _insert_parts(cursor, parts: Sequence[tuple[int, int, int, str]], gateway: str) -> None:  # type: ignore[no-untyped-def]
    """Store each part handed over (message id, seq, total, reference) by `gateway`."""
    if not parts:
        return
    if _pg():
        cursor.execute(
            _PARTS_INSERT_PG, [gateway, *(list(col) for col in zip(*parts, strict=True))]
        )
        return
    for chunk in _chunks(parts, _SQLITE_ROWS_PER_STATEMENT):
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        cursor.execute(
            f"WITH p(id, seq, total, ref) AS (VALUES {values}) "
            f"{_PARTS_COLUMNS}{_PARTS_SELECT}{_PARTS_CONFLICT}",
            [*(value for row in chunk for value in row), gateway],
        )


def record_unknown(message_ids: Iterable[int], *, reason: str, now: datetime) -> int:
    """The gateway broke while it had these: they may or may not have gone out."""
    gateways: list[tuple] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in _chunks(list(message_ids), 900):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {TABLE} SET status = %s, error = %s, status_at = %s, claimed_by = '' "
                f"WHERE id IN ({marks}) AND status = %s RETURNING gateway_id",
                [S.UNKNOWN, reason[:255], _db(now), *chunk, S.SENDING],
            )
            gateways.extend(cursor.fetchall())
        _count_per_gateway(E.UNKNOWN, gateways, now=now)
    return len(gateways)


def recover_in_flight(*, live_workers: Iterable[str], now: datetime) -> int:
    """Messages left `sending` by a worker that is gone become `unknown`, never resent."""
    live = list(live_workers)
    alive = f"AND claimed_by NOT IN ({', '.join(['%s'] * len(live))}) " if live else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET status = %s, error = %s, status_at = %s, claimed_by = '' "
            f"WHERE status = %s {alive}RETURNING gateway_id",
            [S.UNKNOWN, IN_FLIGHT_REASON[:255], _db(now), S.SENDING, *live],
        )
        gateways = cursor.fetchall()
        _count_per_gateway(E.UNKNOWN, gateways, now=now)
    return len(gateways)


def _count_per_gateway(event: str, rows: Sequence[tuple], *, now: datetime) -> None:
    """Count `event` today once per row; each row starts with its message's gateway."""
    day = stats.local_day(now)
    stats.add((day, row[0] or "", event, 1) for row in rows)


# --- delivery reports -------------------------------------------------------------------


def record_reports(
    reports: Sequence[StatusReport], *, now: datetime | None = None
) -> list[StatusReport]:
    """Apply delivery reports to the parts they name, and the parts' messages.

    A message is `delivered` when every part is, `failed` when one part failed. A report
    that matches no part yet is stored (UnmatchedReport) and matched by
    `match_unmatched` when its part is recorded; a report of a part already final changes
    nothing. When this returns, every report is in the database: the gateway may forget
    them. Returns the reports stored as unmatched.
    """
    if not reports:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        return _apply_reports(cursor, reports, now=now, store_unmatched=True)


def _apply_reports(
    cursor,  # type: ignore[no-untyped-def]
    reports: Sequence[StatusReport],
    *,
    now: datetime | None,
    store_unmatched: bool,
) -> list[StatusReport]:
    pg_rows = [
        (
            r.gateway,
            r.reference[:64],
            P.DELIVERED if r.state is DeliveryState.DELIVERED else P.FAILED,
            r.detail[:255],
            r.at,
        )
        for r in reports
    ]
    times: dict[datetime, object] = {}  # reports of one batch share their time: convert once
    rows = [
        (
            r.gateway,
            r.reference[:64],
            P.DELIVERED if r.state is DeliveryState.DELIVERED else P.FAILED,
            r.detail[:255],
            times[r.at] if r.at in times else times.setdefault(r.at, _db(r.at)),
        )
        for r in reports
    ]
    # The newest part still waiting with that reference: a modem's references (0-255)
    # come round again, the old part with the same one is long final.
    columns = (
        ("gateway", "text"),
        ("ref", "text"),
        ("state", "text"),
        ("detail", "text"),
        ("at", "timestamptz"),
    )
    set_sql = "state = v.state, detail = v.detail, reported_at = v.at"
    where_sql = (
        f"m.id = (SELECT max(p2.id) FROM {PARTS} p2 WHERE p2.gateway_id = v.gateway "
        f"AND p2.reference = v.ref AND p2.state = '{P.SENT}')"
    )
    returning = "message_id, gateway_id, reference, total"
    reportable = f"msg.status IN ('{S.SENT}', '{S.UNKNOWN}')"
    if _pg():
        # One round trip: the parts, and the messages of one part (nearly all of them),
        # and their counters.
        from django.conf import settings
        from django.utils import timezone

        at = now or timezone.now()
        settled = "RETURNING COALESCE(msg.gateway_id, '') AS gateway, msg.sent_at"

        hits = _pg_bound(
            f"WITH v(gateway, ref, state, detail, at) AS (SELECT * FROM unnest(%s::text[], "
            f"%s::text[], %s::text[], %s::text[], %s::timestamptz[])), "
            f"t AS MATERIALIZED (SELECT v.state, v.detail, v.at, (SELECT max(p2.id) "
            f"FROM {PARTS} p2 WHERE p2.gateway_id = v.gateway AND p2.reference = v.ref "
            f"AND p2.state = '{P.SENT}') AS part_id FROM v), "
            f"hit AS (UPDATE {PARTS} AS m SET state = t.state, detail = t.detail, "
            f"reported_at = t.at FROM t WHERE m.id = t.part_id "
            f"AND m.id = ANY(ARRAY(SELECT part_id FROM t WHERE part_id IS NOT NULL)) "
            f"RETURNING m.message_id, m.gateway_id, m.reference, m.total, m.state, m.detail), "
            f"delivered AS (UPDATE {TABLE} AS msg SET status = '{S.DELIVERED}', error = '', "
            f"status_at = %s, claimed_by = '' WHERE msg.id = ANY(ARRAY(SELECT message_id "
            f"FROM hit WHERE total = 1 AND state = '{P.DELIVERED}')) AND {reportable} "
            f"{settled}), "
            f"failed AS (UPDATE {TABLE} AS msg SET status = '{S.FAILED}', error = (SELECT "
            f"hit.detail FROM hit WHERE hit.message_id = msg.id LIMIT 1), status_at = %s, "
            f"claimed_by = '' WHERE msg.id = ANY(ARRAY(SELECT message_id FROM hit "
            f"WHERE total = 1 AND state = '{P.FAILED}')) AND {reportable} {settled}), "
            f"counted AS (INSERT INTO {DELTAS} (day, gateway, event, count) "
            f"SELECT %s, gateway, '{E.DELIVERED}', count(*) FROM delivered GROUP BY gateway "
            f"UNION ALL SELECT %s, gateway, '{E.FAILED}', count(*) FROM failed GROUP BY gateway "
            f"UNION ALL SELECT (r.sent_at AT TIME ZONE %s)::date, r.gateway, '{E.REPORTED}', "
            f"count(*) FROM (SELECT * FROM delivered UNION ALL SELECT * FROM failed) r "
            f"WHERE r.sent_at IS NOT NULL GROUP BY 1, 2 RETURNING 1) "
            f"SELECT {returning} FROM hit",
            [
                *map(list, zip(*pg_rows, strict=True)),
                at,
                at,
                stats.local_day(at),
                stats.local_day(at),
                settings.TIME_ZONE,
            ],
        )
        _settle_messages(cursor, sorted({h[0] for h in hits if h[3] > 1}), now=now)
    else:
        hits = _update_from_values(
            cursor,
            rows,
            columns=columns,
            set_sql=set_sql,
            set_params=(),
            where_sql=where_sql,
            table=PARTS,
            returning=returning,
        )
        _settle_messages(cursor, sorted({h[0] for h in hits}), now=now)
    matched = {(h[1], h[2]) for h in hits}
    missing = [r for r in reports if (r.gateway, r.reference[:64]) not in matched]
    if not missing:
        return []
    # Duplicates of reports already applied name a known part: nothing to wait for.
    known = set(
        MessagePart.objects.filter(
            gateway_id__in={r.gateway for r in missing},
            reference__in=[r.reference[:64] for r in missing],
        ).values_list("gateway_id", "reference")
    )
    unmatched = [r for r in missing if (r.gateway, r.reference[:64]) not in known]
    if store_unmatched and unmatched:
        from django.utils import timezone

        received = now or timezone.now()
        UnmatchedReport.objects.bulk_create(
            [
                UnmatchedReport(
                    gateway_id=r.gateway,
                    reference=r.reference[:64],
                    state=P.DELIVERED if r.state is DeliveryState.DELIVERED else P.FAILED,
                    detail=r.detail[:255],
                    at=r.at,
                    received_at=received,
                )
                for r in unmatched
            ],
            batch_size=500,
        )
    return unmatched


def _settle_messages(cursor, message_ids: Sequence[int], *, now: datetime | None) -> None:  # type: ignore[no-untyped-def]
    """Derive each message's state from its parts: failed if one failed, delivered if all
    were; else it stays as it is (a part is still on its way)."""
    if not message_ids:
        return
    from django.utils import timezone

    when = now or timezone.now()
    at = _db(when)
    reportable = f"m.status IN ('{S.SENT}', '{S.UNKNOWN}')"
    settled = " RETURNING gateway_id, sent_at"  # unqualified: SQLite
    counted: list[stats.Delta] = []
    today = stats.local_day(when)
    for chunk in _chunks(message_ids, 900):
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            f"UPDATE {TABLE} AS m SET status = '{S.FAILED}', status_at = %s, claimed_by = '', "
            f"error = (SELECT p.detail FROM {PARTS} p WHERE p.message_id = m.id "
            f"AND p.state = '{P.FAILED}' ORDER BY p.seq LIMIT 1) "
            f"WHERE m.id IN ({marks}) AND {reportable} AND EXISTS (SELECT 1 FROM {PARTS} p "
            f"WHERE p.message_id = m.id AND p.state = '{P.FAILED}'){settled}",
            [at, *chunk],
        )
        counted.extend(_settled(cursor.fetchall(), E.FAILED, today))
        cursor.execute(
            f"UPDATE {TABLE} AS m SET status = '{S.DELIVERED}', status_at = %s, "
            f"claimed_by = '', error = '' "
            f"WHERE m.id IN ({marks}) AND {reportable} AND NOT EXISTS (SELECT 1 FROM {PARTS} p "
            f"WHERE p.message_id = m.id AND p.state <> '{P.DELIVERED}'){settled}",
            [at, *chunk],
        )
        counted.extend(_settled(cursor.fetchall(), E.DELIVERED, today))
    stats.add(counted)


def _settled(rows: Sequence[tuple], event: str, today: date) -> list[stats.Delta]:
    """The counters of messages just delivered or failed: `event` today, and `reported`
    on the day each was sent. Rows are (gateway, sent_at)."""
    counted: list[stats.Delta] = []
    for gateway, sent_at in rows:
        counted.append((today, gateway or "", event, 1))
        if sent_at is not None:
            if isinstance(sent_at, str):  # SQLite: the UTC text the ORM stored
                sent_at = datetime.fromisoformat(sent_at)
            if sent_at.tzinfo is None:  # SQLite stores UTC without its offset
                sent_at = sent_at.replace(tzinfo=UTC)
            counted.append((stats.local_day(sent_at), gateway or "", E.REPORTED, 1))
    return counted


def match_unmatched(gateway: str, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Apply the stored reports of `gateway` whose part has been recorded since; returns
    how many found their part (or turned out to be duplicates) and were removed."""
    stored = list(UnmatchedReport.objects.filter(gateway_id=gateway).order_by("id")[:limit])
    if not stored:
        return 0
    reports = [
        StatusReport(
            s.gateway_id,
            s.reference,
            DeliveryState.DELIVERED if s.state == P.DELIVERED else DeliveryState.FAILED,
            detail=s.detail,
            at=s.at,
            handle=s.id,
        )
        for s in stored
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        still = _apply_reports(cursor, reports, now=now, store_unmatched=False)
        waiting = {id(r) for r in still}
        done = [r.handle for r in reports if id(r) not in waiting]
        UnmatchedReport.objects.filter(id__in=done).delete()
    return len(done)


def purge_unmatched(*, older_than: datetime) -> int:
    """Reports whose part never showed up (it went `unknown` when a worker died) are
    forgotten after SMSDESK_REPORT_TIMEOUT."""
    deleted, _ = UnmatchedReport.objects.filter(received_at__lt=older_than).delete()
    return deleted


# --- SQL helpers --------------------------------------------------------------------------

# SQLite binds at most 32,766 parameters per statement: stay well under it.
_SQLITE_ROWS_PER_STATEMENT = 1000


def _chunks(items: Sequence, size: int) -> list[Sequence]:  # type: ignore[type-arg]
    return [items[i : i + size] for i in range(0, len(items), size)]


def _update_from_values(
    cursor,  # type: ignore[no-untyped-def]
    rows: Sequence[tuple],
    *,
    columns: Sequence[tuple[str, str]],
    set_sql: str,
    set_params: Sequence[object],
    where_sql: str,
    table: str = TABLE,
    returning: str = "",
) -> list[tuple]:
    """Update `table` (as `m`) from many rows of values in one statement.

    The statement sees the rows as a table `v` whose `columns` are (name, PostgreSQL type).
    One statement instead of one per row: on PostgreSQL each row would cost a round trip,
    which made the worker 1.7 times slower there (bench/RESULTS.md). SQLite needs 3.33 or
    newer for UPDATE ... FROM (Debian 12 ships 3.40). Returns the RETURNING rows, or one
    empty tuple per row changed when there is no `returning`.
    """
    if not rows:
        return []
    names = ", ".join(name for name, _type in columns)
    update = f"UPDATE {table} AS m SET {set_sql} FROM v WHERE {where_sql}"
    tail = f" RETURNING {returning}" if returning else ""
    if _pg():
        arrays = ", ".join(f"%s::{type_}[]" for _name, type_ in columns)
        cursor.execute(
            f"WITH v({names}) AS (SELECT * FROM unnest({arrays})) {update}{tail}",
            [*map(list, zip(*rows, strict=True)), *set_params],
        )
        return cursor.fetchall() if returning else [()] * cursor.rowcount
    found: list[tuple] = []
    # Python's sqlite3 gives no rowcount (-1) for a statement that starts with WITH.
    tail = tail or " RETURNING 1"
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for chunk in _chunks(rows, _SQLITE_ROWS_PER_STATEMENT):
        values = ", ".join([placeholders] * len(chunk))
        cursor.execute(
            f"WITH v({names}) AS (VALUES {values}) {update}{tail}",
            [*(value for row in chunk for value in row), *set_params],
        )
        found.extend(cursor.fetchall() if returning else [()] * len(cursor.fetchall()))
    return found
