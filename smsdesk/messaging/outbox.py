"""The outbox: the worker's side of the messaging rules.

Every function here is one short write transaction on many rows at once, because the worker
works in batches (DESIGN.md, "Throughput"): claim up to N due messages in one statement, hand
them to the gateway, record the N results in one round trip.

No message is sent twice: a message is handed to a gateway only after this worker has moved it
from `queued` to `sending` in the claim, which at most one worker can do (the claim is one
UPDATE; on PostgreSQL the candidate rows are locked with SKIP LOCKED, so two workers take
disjoint batches). A worker that dies leaves its `sending` rows to `recover_in_flight`, which
marks them `unknown`, never `queued` again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext_noop

from smsdesk.gateways.base import DeliveryState, OutboundSMS, SendResult, StatusReport
from smsdesk.messaging.models import BLOCKED_REASON, Message
from smsdesk.optout import services as optout

S = Message.Status
TABLE = Message._meta.db_table


def _db(value: datetime) -> object:
    # Raw SQL must store datetimes exactly as the ORM does (text in SQLite).
    return connection.ops.adapt_datetimefield_value(value)


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: 30 s, 1 min, 2 min, ... at most 1 h."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def promote_scheduled(gateway: str, now: datetime) -> int:
    """Scheduled messages whose time has come become `queued`."""
    return Message.objects.filter(status=S.SCHEDULED, gateway_id=gateway, due_at__lte=now).update(
        status=S.QUEUED, status_at=now
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    sms: OutboundSMS
    attempts: int


def claim(*, gateway: str, worker_id: str, limit: int, now: datetime) -> list[Claimed]:
    """Move up to `limit` due messages of `gateway` from `queued` to `sending`, for us."""
    set_clause = f"status = %s, claimed_by = %s, attempts = {TABLE}.attempts + 1, status_at = %s"
    if connection.vendor == "postgresql":
        # The CTE is MATERIALIZED so that the LIMIT applies once: with a plain
        # `id IN (SELECT ... LIMIT n SKIP LOCKED)` the planner may run the subquery again
        # per row and claim far more than n rows (seen here: 2,000 for a limit of 20).
        sql = (
            f"WITH due AS MATERIALIZED (SELECT id FROM {TABLE} "
            f"WHERE status = %s AND gateway_id = %s AND due_at <= %s "
            f"ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {TABLE} SET {set_clause} FROM due "
            f"WHERE {TABLE}.id = due.id AND {TABLE}.status = %s "
            f"RETURNING {TABLE}.id, peer, body, attempts"
        )
        params = [S.QUEUED, gateway, _db(now), limit, S.SENDING, worker_id, _db(now), S.QUEUED]
    else:
        # SQLite runs one writer at a time (BEGIN IMMEDIATE): the subquery is the claim.
        sql = (
            f"UPDATE {TABLE} SET {set_clause} WHERE status = %s AND id IN ("
            f"SELECT id FROM {TABLE} WHERE status = %s AND gateway_id = %s AND due_at <= %s "
            f"ORDER BY due_at, id LIMIT %s) RETURNING id, peer, body, attempts"
        )
        params = [S.SENDING, worker_id, _db(now), S.QUEUED, S.QUEUED, gateway, _db(now), limit]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        # Last check before the network: a number may have said STOP since the message was
        # saved (a scheduled campaign, or a STOP that arrived as the message was written).
        blocked = optout.blocked_among({r[1] for r in rows})
        if blocked:
            # Except the confirmation of a STOP, which goes to a number on the list by then.
            exempt = set(
                Message.objects.filter(
                    id__in=[r[0] for r in rows if r[1] in blocked], opt_out_notice=True
                ).values_list("id", flat=True)
            )
            stopped = [r[0] for r in rows if r[1] in blocked and r[0] not in exempt]
            Message.objects.filter(id__in=stopped).update(
                status=S.BLOCKED, error=BLOCKED_REASON, status_at=now, claimed_by=""
            )
            rows = [r for r in rows if r[0] not in stopped]
    rows.sort()  # RETURNING gives no order; send oldest first
    return [Claimed(OutboundSMS(id=r[0], to=r[1], text=r[2]), r[3]) for r in rows]


def record_results(
    results: Sequence[SendResult], *, attempts: dict[int, int], now: datetime
) -> None:
    """Store what the gateway said of each claimed message, in one transaction."""
    max_attempts = settings.SMSDESK_MAX_ATTEMPTS
    sent, retry, failed = [], [], []
    for r in results:
        if r.accepted:
            sent.append((r.reference or "", r.message_id))
        elif not r.permanent and attempts.get(r.message_id, max_attempts) < max_attempts:
            due = now + retry_delay(attempts[r.message_id])
            retry.append((r.error[:255], _db(due), r.message_id))
        else:
            failed.append((r.error[:255], r.message_id))
    with transaction.atomic(), connection.cursor() as cursor:
        _update_each(
            cursor,
            sent,
            columns=(("ref", "text"), ("id", "bigint")),
            set_sql=f"status = '{S.SENT}', gateway_ref = v.ref, sent_at = %s, status_at = %s, "
            "claimed_by = '', error = ''",
            set_params=(_db(now), _db(now)),
            where_sql=f"{TABLE}.id = v.id AND {TABLE}.status = '{S.SENDING}'",
        )
        _update_each(
            cursor,
            retry,
            columns=(("error", "text"), ("due", "timestamptz"), ("id", "bigint")),
            set_sql=f"status = '{S.QUEUED}', error = v.error, due_at = v.due, status_at = %s, "
            "claimed_by = ''",
            set_params=(_db(now),),
            where_sql=f"{TABLE}.id = v.id AND {TABLE}.status = '{S.SENDING}'",
        )
        _update_each(
            cursor,
            failed,
            columns=(("error", "text"), ("id", "bigint")),
            set_sql=f"status = '{S.FAILED}', error = v.error, status_at = %s, claimed_by = ''",
            set_params=(_db(now),),
            where_sql=f"{TABLE}.id = v.id AND {TABLE}.status = '{S.SENDING}'",
        )


# SQLite binds at most 32,766 parameters per statement: stay well under it.
_SQLITE_ROWS_PER_STATEMENT = 1000


def _update_each(
    cursor,  # type: ignore[no-untyped-def]
    rows: Sequence[tuple],
    *,
    columns: Sequence[tuple[str, str]],
    set_sql: str,
    set_params: Sequence[object],
    where_sql: str,
) -> int:
    """Update the message table from many rows of values in one statement; return the count.

    The statement sees the rows as a table `v` whose `columns` are (name, PostgreSQL type).
    One statement instead of one per row: on PostgreSQL each row would cost a round trip,
    which made the worker 1.7 times slower there (bench/RESULTS.md). SQLite needs 3.33 or
    newer for UPDATE ... FROM (Debian 12 ships 3.40).
    """
    if not rows:
        return 0
    names = ", ".join(name for name, _type in columns)
    update = f"UPDATE {TABLE} SET {set_sql} FROM v WHERE {where_sql}"
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{type_}[]" for _name, type_ in columns)
        cursor.execute(
            f"WITH v({names}) AS (SELECT * FROM unnest({arrays})) {update}",
            [*map(list, zip(*rows, strict=True)), *set_params],
        )
        return cursor.rowcount
    count = 0
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), _SQLITE_ROWS_PER_STATEMENT):
        chunk = rows[start : start + _SQLITE_ROWS_PER_STATEMENT]
        values = ", ".join([placeholders] * len(chunk))
        cursor.execute(
            f"WITH v({names}) AS (VALUES {values}) {update}",
            [*(value for row in chunk for value in row), *set_params],
        )
        count += cursor.rowcount
    return count


def record_unknown(message_ids: Iterable[int], *, reason: str, now: datetime) -> int:
    """The gateway broke while it had these: they may or may not have gone out."""
    return Message.objects.filter(id__in=list(message_ids), status=S.SENDING).update(
        status=S.UNKNOWN, error=reason[:255], status_at=now, claimed_by=""
    )


# A report can only move a message forward: never back from a final state to another one.
_REPORTABLE = (S.SENT, S.UNKNOWN)


def record_reports(reports: Sequence[StatusReport]) -> list[StatusReport]:
    """Apply delivery reports; return those that match no message yet (to try again later:
    a network may report before the worker has recorded the message as sent)."""
    if not reports:
        return []
    rows = [
        (
            S.DELIVERED if r.state is DeliveryState.DELIVERED else S.FAILED,
            r.detail[:255],
            _db(r.at),
            r.gateway,
            r.reference,
        )
        for r in reports
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        matched = _update_each(
            cursor,
            rows,
            columns=(
                ("status", "text"),
                ("detail", "text"),
                ("at", "timestamptz"),
                ("gateway", "text"),
                ("ref", "text"),
            ),
            set_sql="status = v.status, error = v.detail, status_at = v.at",
            set_params=(),
            where_sql=f"{TABLE}.gateway_id = v.gateway AND {TABLE}.gateway_ref = v.ref "
            f"AND {TABLE}.status IN ('{_REPORTABLE[0]}', '{_REPORTABLE[1]}')",
        )
    if matched == len(reports):
        return []
    # Some did not match: either unknown yet, or a duplicate report of a final message.
    known = set(
        Message.objects.filter(
            gateway_id__in={r.gateway for r in reports},
            gateway_ref__in=[r.reference for r in reports],
        ).values_list("gateway_id", "gateway_ref")
    )
    return [r for r in reports if (r.gateway, r.reference) not in known]


# Reasons are stored in English and translated when shown (templates: {% translate %}).
IN_FLIGHT_REASON = gettext_noop(
    "The worker stopped while it was handing this message to the network: it may or may "
    "not have been sent. It is not sent again on its own; check with the recipient, then "
    "retry if needed."
)


def recover_in_flight(*, live_workers: Iterable[str], now: datetime) -> int:
    """Messages left `sending` by a worker that is gone become `unknown`, never resent."""
    return (
        Message.objects.filter(status=S.SENDING)
        .exclude(claimed_by__in=list(live_workers))
        .update(status=S.UNKNOWN, error=IN_FLIGHT_REASON[:255], status_at=now, claimed_by="")
    )
