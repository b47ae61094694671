"""The API's cursor pages, one helper for every list (messages, campaigns, calls, the audit
log): newest first by (time, id), or oldest first when walking forwards (`after`).

The order is the one of an index led by the organisation (`msg_org_recent` or `msg_list`,
`campaign_recent`, `call_recent`, `audit_org`), as the web pages' lists are read. Ordering by
the id alone let PostgreSQL walk the primary key backwards through the other organisations'
newer rows (0.5 to 1 s for a big organisation among 50, bench/RESULTS.md "Issue 16/20"):
the planner cannot know that an organisation's rows are all old, and no index on
`(organisation, id)` can compete once the organisation is a constant of the query.

The cursor is what it always was: an id, the last row's of the page (`next_cursor`), given
back as `before` (or `after`). The row it names is looked up (one query by primary key,
among the organisation's rows: `scope`) and the next page is the rows beyond its
(time, id), a range of the same index. An id that names no row of the scope (deleted, or
a number a client made up) keeps its former meaning: the rows with a smaller (greater) id.
`after=0` starts from the oldest row.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from smsdesk.core.lists import rows_beyond

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
        edge = scope.filter(pk=cursor).values_list(time_field, flat=True).first()
        if edge is None:
            qs = qs.filter(id__gt=cursor) if forwards else qs.filter(id__lt=cursor)
        else:
            qs = rows_beyond(qs, (time_field, "id"), (edge, cursor), later=forwards)
    rows = list(qs[: limit + 1])
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)
