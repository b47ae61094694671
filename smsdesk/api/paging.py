"""The API's cursor pages, one helper for every list (messages, campaigns, calls, the audit
log): newest first by (time, id), or oldest first when walking forwards (`after`).

The order is the one of an index led by the organisation (`msg_org_recent` or `msg_list`,
`campaign_recent`, `call_recent`, `audit_org`), as the web pages' lists are read. Ordering by
the id alone let PostgreSQL walk the primary key backwards through the other organisations'
newer rows (0.5 to 1 s for a big organisation among 50, bench/RESULTS.md "Issue 16/20"):
the planner cannot know that an organisation's rows are all old, and no index on
`(organisation, id)` can compete once the organisation is a constant of the query.

The cursor is what it always was: an id, the last row's of the page (`next_cursor`), given
back as `before` (or `after`). The row it names is looked up among the organisation's rows
(`scope`) by a subquery of the page's own query (no query more for a deep page), and the
next page is the rows beyond its (time, id), a range of the same index. An id that names no
row of the scope (deleted, or a number a client made up) keeps its former meaning: the rows
with a smaller (greater) id. `after=0` starts from the oldest row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import DateTimeField, Exists, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from smsdesk.core.lists import first_rows, rows_beyond

CURSOR_HELP = (
    "the previous page's next_cursor: the rows after that one, newest first by time then id "
    "(an id that is none of yours: a smaller id)"
)


def cursor_page(
    qs: QuerySet,
    *,
    scope: QuerySet,
    time_field: str,
    limit: int,
    before: int | None = None,
    after: int | None = None,
) -> tuple[list[Any], int | None]:
    """One page of `qs` (`limit` rows) and the next page's cursor (None on the last page).
    `scope`: every row a cursor may name (the organisation's, unfiltered: a row that left
    the filter since, a message now delivered, still marks its place)."""
    forwards = after is not None
    cursor = after if forwards else before
    order = (time_field, "id") if forwards else (f"-{time_field}", "-id")
    qs = qs.order_by(*order)
    if cursor:
        qs = _beyond(qs, scope.filter(pk=cursor), time_field, cursor, forwards=forwards)
    rows = first_rows(qs, limit + 1)  # the keys, then the rows: a search's names once
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


# Beyond any time stored: what the cursor's time is taken as when it names no row.
_LAST = datetime(9999, 12, 31, tzinfo=UTC)
_FIRST = datetime(1, 1, 2, tzinfo=UTC)


def _beyond(
    qs: QuerySet, named: QuerySet, time_field: str, cursor: int, *, forwards: bool
) -> QuerySet:
    """The rows after (forwards) or before the row `named` (at most one) in (time, id)
    order, in the one query of the page: its time read by a subquery, so that a deep page
    costs the queries of the first (tests/core/test_list_queries.py). When `named` is
    empty, the time compared with is beyond every row's and only the id bounds."""
    edge = Coalesce(
        Subquery(named.values(time_field)[:1]),
        Value(_FIRST if forwards else _LAST, output_field=DateTimeField()),
    )
    qs = rows_beyond(qs, (time_field, "id"), (edge, cursor), later=forwards)
    by_id = Q(id__gt=cursor) if forwards else Q(id__lt=cursor)
    return qs.filter(Q(Exists(named)) | by_id)
