"""The worker's side of the messaging rules that is not a status change: delivery reports
that came before their part, and claims the worker never got. Status changes are
messaging/lifecycle.py's (the claim, the results, the reports themselves).

Every function here is one short write transaction on many rows at once, because the worker
works in batches (DESIGN.md, "Throughput").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from smsdesk.gateways.base import DeliveryState, StatusReport
from smsdesk.messaging import lifecycle
from smsdesk.messaging.models import Message, MessagePart, UnmatchedReport

P = MessagePart.State


def release_unheld(*, worker_id: str, gateway: str, held: Iterable[int], now: datetime) -> int:
    """Messages this worker claimed but does not hold (the claim committed while the
    connection dropped, so the worker never got them): nothing was handed over, queue them."""
    held = set(held)
    ids = [
        i
        for i in Message.objects.across_orgs()  # the worker: a line's messages, whoever's
        .filter(status=Message.Status.SENDING, claimed_by=worker_id, gateway_id=gateway)
        .values_list("id", flat=True)
        if i not in held
    ]
    return lifecycle.release(ids, reason="", now=now)


def record_reports(
    reports: Sequence[StatusReport], *, now: datetime | None = None
) -> list[StatusReport]:
    """Apply delivery reports to the parts they name, and the parts' messages
    (`lifecycle.apply_reports`).

    A report that matches no part yet is stored (UnmatchedReport) and matched by
    `match_unmatched` when its part is recorded; a report of a part already final changes
    nothing. When this returns, every report is in the database: the gateway may forget
    them. Returns the reports stored as unmatched.
    """
    if not reports:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        return _apply(cursor, reports, now=now, store_unmatched=True)


def record_reports_in(
    cursor: lifecycle.Cursor, reports: Sequence[StatusReport], *, now: datetime | None = None
) -> list[StatusReport]:
    """`record_reports` inside the caller's transaction (the worker's: with the results of a
    hand-over, `lifecycle.record_results(then=...)`). The reports are in the database once
    that transaction commits, not before: acknowledge them to the gateway only then."""
    if not reports:
        return []
    return _apply(cursor, reports, now=now, store_unmatched=True)


def _apply(
    cursor: lifecycle.Cursor,
    reports: Sequence[StatusReport],
    *,
    now: datetime | None,
    store_unmatched: bool,
) -> list[StatusReport]:
    hits = lifecycle.apply_reports(cursor, reports, now=now)
    matched = {(h[1], h[2]) for h in hits}
    missing = [r for r in reports if (r.gateway, r.reference[:64]) not in matched]
    if not missing:
        return []
    # Duplicates of reports already applied name a part reported already: nothing to wait
    # for. A part still waiting that the statement did not see was committed meanwhile (by
    # another worker, whose simulator shares the network's reports): kept, matched later.
    known = set(
        MessagePart.objects.filter(
            gateway_id__in={r.gateway for r in missing},
            reference__in=[r.reference[:64] for r in missing],
        )
        .exclude(state=P.SENT)
        .values_list("gateway_id", "reference")
    )
    unmatched = [r for r in missing if (r.gateway, r.reference[:64]) not in known]
    if store_unmatched and unmatched:
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
        still = _apply(cursor, reports, now=now, store_unmatched=False)
        waiting = {id(r) for r in still}
        done = [r.handle for r in reports if id(r) not in waiting]
        UnmatchedReport.objects.filter(id__in=done).delete()
    return len(done)


def purge_unmatched(*, older_than: datetime) -> int:
    """Reports whose part never showed up (it went `unknown` when a worker died) are
    forgotten after SMSDESK_REPORT_TIMEOUT."""
    deleted, _ = UnmatchedReport.objects.filter(received_at__lt=older_than).delete()
    return deleted
