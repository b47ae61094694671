"""Paged, searchable, sortable lists: the "Afficher N" and "Rechercher" of the manual's lists,
and column headers that sort (`?sort=date`, `?sort=-date` for the other way).

Pages are keyset (cursor) pages, so a deep page costs what the first one does: a sort is a
tuple of non-null columns ending with the primary key (or a unique column), served by an
index in that order; `?after=` / `?before=` carry the sort values of the edge row of the page
shown (an opaque, validated token) and the next page is read with a row-value comparison
`(a, b, id) > (x, y, z)` that both PostgreSQL and SQLite (>= 3.15) answer with an index range
scan, never an OFFSET. `?last=1` is the reversed order's first page, shown in the normal order.

Counts never scan: a bounded COUNT over at most COUNT_CAP + 1 rows is exact below the cap;
above it the page says "about N" (PostgreSQL: the planner's estimate) or "more than N"
(SQLite, which has no estimate). See docs/architecture.md, "Lists"."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Model, QuerySet
from django.db.models.fields import (
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    TextField,
)
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.lookups import GreaterThan, LessThan
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.where import WhereNode
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.core import bounds, hooks
from smsdesk.core.text import search_safe

PAGE_SIZES = (10, 25, 50, 100)
MAX_SEARCH = 100
COUNT_CAP = 1000  # counted exactly up to this many rows; beyond, an estimate
MAX_CURSOR = 1000  # characters: longer is refused before decoding
CURSOR_PARAMS = ("after", "before", "last", "page")  # dropped when the order changes


def page_size(raw: str | None) -> int:
    try:
        size = int(raw or 0)
    except ValueError:
        return PAGE_SIZES[1]
    return size if size in PAGE_SIZES else PAGE_SIZES[1]


@dataclass(frozen=True)
class Column:
    label: str
    sort: str = ""  # its name in ?sort=, "" for a column that does not sort
    # The ascending order: non-null model fields, the last one the primary key or unique,
    # with an index in this order (a keyset page reads the index from the cursor on).
    order_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Order:
    """A sort as keyset paging needs it: its name, its fields (ascending) and its way."""

    name: str
    fields: tuple[str, ...]
    descending: bool


def sort_order(
    request: HttpRequest, columns: Sequence[Column], default: str, key: str = "sort"
) -> Order:
    """The order `?sort=` asks for, or `default` for anything else."""
    orders = {c.sort: c.order_by for c in columns if c.sort}
    sort = request.GET.get(key, "")
    if sort.removeprefix("-") not in orders:
        sort = default
    return Order(sort, orders[sort.removeprefix("-")], sort.startswith("-"))


def _order_fields(fields: Sequence[str], descending: bool) -> list[str]:
    return [f"-{f}" if descending else f for f in fields]


def search_text(request: HttpRequest) -> str:
    return search_safe(request.GET.get("q", "")).strip()[:MAX_SEARCH]


# --- cursors --------------------------------------------------------------------------------


def encode_cursor(order: Order, values: Sequence[object]) -> str:
    """An opaque token for the position `values` (the sort fields of a row) in `order`."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([order.name, *plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(model: type[Model], order: Order, token: str | None) -> list[object] | None:
    """The sort values in `token`, checked against the fields of `order`; None for anything
    else (a cursor of another sort, a hand-made or damaged one): the list starts over."""
    if not token or len(token) > MAX_CURSOR:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, list) or len(data) != len(order.fields) + 1 or data[0] != order.name:
        return None
    values = []
    for name, value in zip(order.fields, data[1:], strict=True):
        checked = _checked(_field(model, name), value)
        if checked is None:
            return None
        values.append(checked)
    return values


def _checked(model_field: Field, value: object) -> object | None:
    """`value` as `model_field` stores it, or None when it cannot be one of its values."""
    if isinstance(model_field, DateTimeField):
        if not isinstance(value, str) or len(value) > 40:
            return None
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                return None
            return bounds.moment(moment)  # fails here, not in SQL, past year 1 or 9999
        except ValueError:
            return None
    if isinstance(model_field, IntegerField) or model_field.primary_key:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            return None
        return value
    if isinstance(model_field, (CharField, TextField)):
        if not isinstance(value, str) or len(value) > 1000 or search_safe(value) != value:
            return None  # a NUL never reaches the database (PostgreSQL refuses it)
        return value
    return None


class _RowAfter(TupleGreaterThan):
    """`(a, b, id) > (x, y, z)` written as a row value on every database: Django spells it
    out as ORs on SQLite, which no index range serves; SQLite >= 3.15 reads row values."""

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        return GreaterThan.as_sql(self, compiler, connection)


class _RowBefore(TupleLessThan):
    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        return LessThan.as_sql(self, compiler, connection)


def _beyond(queryset: QuerySet, order: Order, values: Sequence[object], forward: bool) -> QuerySet:
    """Rows strictly after `values` in `order` (forward) or strictly before them."""
    return rows_beyond(queryset, order.fields, values, later=forward != order.descending)


def rows_beyond(
    queryset: QuerySet, fields: Sequence[str], values: Sequence[object], *, later: bool
) -> QuerySet:
    """Rows whose `fields` are greater (`later`) or smaller than `values`, compared as one
    row value: `(a, b, id) > (x, y, z)`, a range of an index on those columns."""
    row = Tuple(*(F(f) for f in fields))
    return queryset.filter((_RowAfter if later else _RowBefore)(row, tuple(values)))


# --- pages ----------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a list: its rows, the cursors of the pages around it and the count line."""

    rows: list
    per_page: int
    has_previous: bool
    has_next: bool
    previous_cursor: str = ""
    next_cursor: str = ""
    count: int = 0
    count_exact: bool = True
    count_estimated: bool = field(default=False)  # PostgreSQL's planner guessed `count`

    def __iter__(self) -> Iterator:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def count_text(self) -> str:
        """ "37 results", "about 120,000 results", "more than 1,000 results"."""
        shown = number_format(self.count, force_grouping=True)
        if self.count_exact:
            return ngettext("%(count)s result", "%(count)s results", self.count) % {"count": shown}
        if self.count_estimated:
            return _("about %(count)s results") % {"count": shown}
        return _("more than %(count)s results") % {"count": shown}


def keyset_page(
    queryset: QuerySet,
    order: Order,
    *,
    per_page: int,
    after: str | None = None,
    before: str | None = None,
    last: bool = False,
    count: bool = True,
) -> Page:
    """The page of `queryset` in `order` after the cursor `after`, before `before`, the last
    one, or else the first; reads per_page + 1 rows from an index, never what it skips."""
    model = queryset.model
    ordered = queryset.order_by(*_order_fields(order.fields, order.descending))
    reversed_ = queryset.order_by(*_order_fields(order.fields, not order.descending))
    after_values = decode_cursor(model, order, after)
    before_values = None if after_values is not None else decode_cursor(model, order, before)
    if after_values is not None:
        rows = first_rows(_beyond(ordered, order, after_values, forward=True), per_page + 1)
        has_previous, has_next = True, len(rows) > per_page
        rows = rows[:per_page]
    elif before_values is not None or last:
        source = reversed_
        if before_values is not None:
            source = _beyond(reversed_, order, before_values, forward=False)
        rows = first_rows(source, per_page + 1)
        has_previous, has_next = len(rows) > per_page, before_values is not None
        rows = rows[:per_page][::-1]
    else:
        rows = []
    counted: list[int] = []
    if not rows:  # no cursor, or nothing left past it (rows deleted): the first page
        rows = first_rows(ordered, per_page + 1, counted)
        has_previous, has_next = False, len(rows) > per_page
        rows = rows[:per_page]
    page = Page(rows=rows, per_page=per_page, has_previous=has_previous, has_next=has_next)
    if rows:
        page.previous_cursor = encode_cursor(order, _values(rows[0], order))
        page.next_cursor = encode_cursor(order, _values(rows[-1], order))
    if count and counted and counted[0] <= COUNT_CAP:  # the first page read them all
        page.count, page.count_exact, page.count_estimated = counted[0], True, False
    elif count:
        page.count, page.count_exact, page.count_estimated = bounded_count(queryset)
    return page


def first_rows(queryset: QuerySet, n: int, counted: list[int] | None = None) -> list:
    """The first `n` rows of the ordered `queryset`, in two reads: their primary keys (the
    conditions and the sort on narrow rows), then those rows whole, with what the page shows
    beside each (a number's contact name, an author).

    In one read, SQLite computes every selected column of every row that matches before it
    sorts them: a name searched in the Sent list that matches 10,000 messages computed
    10,000 contact names to show 50 (bench/RESULTS.md, issue 21). The second read looks the
    keys up by primary key without the conditions again (they chose the keys, under the
    queryset's organisation).

    A partitioned table sorted by its partition column (the messages by month on PostgreSQL,
    `hooks.set_partitioned`) is read one partition's range at a time, in the sort's
    direction, until the page is full: each query is planned against one partition. Read
    whole, PostgreSQL merged every month's copy of the list index to find a few ids that a
    search or the Unread list had found, reading a month with none of them to its end
    (seconds at 10 million, bench/RESULTS.md issue 23). The second read then carries the
    page's range of that column, so that it probes the one or two partitions holding it.
    When it read every row of the queryset on the way (they were few), their number is
    appended to `counted`: the page's count needs no query more."""
    column = _partition_column(queryset)
    if column is None:
        keys = list(queryset.values_list("pk", flat=True)[:n])
        span = None
    else:
        keys, span, total = _keys_by_partition(queryset, column, n)
        if total is not None and counted is not None:
            counted.append(total)
    if not keys:
        return []
    whole = queryset.order_by()
    whole.query.where = WhereNode()
    whole = whole.filter(pk__in=keys)
    if span is not None:
        whole = whole.filter(**{f"{column}__gte": span[0], f"{column}__lte": span[1]})
    found = {row.pk: row for row in whole}
    return [found[key] for key in keys if key in found]


def _partition_column(queryset: QuerySet) -> str | None:
    """The partition column of `queryset`'s table if it is partitioned on its database and
    the sort begins with that column; None otherwise."""
    registered = hooks.partitioned(queryset.model)
    if registered is None or connections[queryset.db].vendor != "postgresql":
        return None
    order = queryset.query.order_by
    first = order[0] if order else None
    if not isinstance(first, str) or first.lstrip("-") != registered[0]:
        return None
    return registered[0]


FEW_ROWS = COUNT_CAP  # rows of the older months read unordered then sorted (first_rows)


def _keys_by_partition(
    queryset: QuerySet, column: str, n: int
) -> tuple[list[object], tuple[object, object] | None, int | None]:
    """The first `n` primary keys of `queryset`, a partition's range at a time (see
    first_rows), and the smallest and greatest `column` among them.

    The first range (this month, for the newest first) is read in the list's order; if it
    does not fill the page, the rest of the table is read at once without an order, at most
    FEW_ROWS + 1 rows: when they are that few (a rare word, the unread messages, a number
    seldom texted), sorted here; otherwise month after month in order. Read month by month,
    a few ids scattered over the months made PostgreSQL scan each month's list index to its
    end (the planner expects them evenly spread: 2.6 s at 10 million)."""
    _column, ranges = hooks.partitioned(queryset.model)  # type: ignore[misc]
    order = [str(f) for f in queryset.query.order_by]
    newest_first = order[0].startswith("-")
    spans = list(ranges(queryset.db, newest_first=newest_first))
    if not spans:  # one table (the default, messaging/partitions.py): one read, as any list
        return list(queryset.values_list("pk", flat=True)[:n]), None, None

    def within(qs: QuerySet, start: object, end: object) -> QuerySet:
        if start is not None:
            qs = qs.filter(**{f"{column}__gte": start})
        if end is not None:
            qs = qs.filter(**{f"{column}__lt": end})
        return qs

    same_way = all(f.startswith("-") == newest_first for f in order)
    names = [f.lstrip("-") for f in order]

    read_all = [0]  # rows of the ranges read whole by few_of

    def few_of(qs: QuerySet, want: int) -> list[tuple[object, object]] | None:
        """The first `want` keys of `qs` read without an order and sorted here, or None
        if it holds more than FEW_ROWS rows."""
        few = list(qs.order_by().values_list("pk", column, *names)[: FEW_ROWS + 1])
        if len(few) > FEW_ROWS:
            return None
        read_all[0] += len(few)
        few.sort(key=lambda row: row[2:], reverse=newest_first)
        return [(row[0], row[1]) for row in few[:want]]

    first = within(queryset, *spans[0])
    whole: list[tuple[object, object]] | None = None
    if same_way:
        # PostgreSQL's estimate for this month (a plan of one partition, nothing read): few
        # rows (a rare word's ids, the unread ones) are read by their own index, then sorted
        try:
            estimate = _planner_estimate(first)
        except EmptyResultSet:  # a condition that matches nothing (a search of no word)
            return [], None, 0
        if estimate is not None and estimate <= FEW_ROWS:
            whole = few_of(first, n)
    first_whole = whole is not None
    found = whole if whole is not None else list(first.values_list("pk", column)[:n])
    rest = spans[1:]
    if not rest:
        return (*_with_span(found), read_all[0] if first_whole else None)
    if len(found) >= n:
        return (*_with_span(found), None)
    if same_way:
        start, end = (rest[-1][0], rest[0][1]) if newest_first else (rest[0][0], rest[-1][1])
        few = few_of(within(queryset, start, end), n - len(found))
        if few is not None:
            # every row read: this month's (whole, or fewer than a page) and the others'
            total = read_all[0] + (0 if first_whole else len(found))
            return (*_with_span(found + few), total)
    for start, end in rest:
        found.extend(within(queryset, start, end).values_list("pk", column)[: n - len(found)])
        if len(found) >= n:
            break
    return (*_with_span(found), None)


def _with_span(
    found: list[tuple[object, object]],
) -> tuple[list[object], tuple[object, object] | None]:
    if not found:
        return [], None
    values = [value for _key, value in found]
    return [key for key, _value in found], (min(values), max(values))  # type: ignore[type-var]


def _values(row: Model, order: Order) -> list[object]:
    return [getattr(row, _field(type(row), name).attname) for name in order.fields]


def _field(model: type[Model], name: str) -> Field:
    """A field of `model` with a column: the only kind a sort is made of."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise ValueError(f"{model.__name__}.{name} has no column to sort by")
    return field


def bounded_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool, bool]:
    """(count, exact, estimated): an exact count up to `cap` rows, reading at most cap + 1;
    beyond, PostgreSQL's estimate of the whole result (or cap + 1 with exact and estimated
    False: "more than cap", as SQLite has no estimate)."""
    counted = queryset.order_by().values("pk")[: cap + 1].count()
    if counted <= cap:
        return counted, True, False
    estimate = _planner_estimate(queryset)
    if estimate is not None and estimate > cap:
        return estimate, False, True
    return cap, False, False


def api_count(queryset: QuerySet) -> dict:
    """`count` and `count_exact` of an API list page (see bounded_count)."""
    count, exact, _estimated = bounded_count(queryset)
    return {"count": count, "count_exact": exact}


def _planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows of `queryset` (EXPLAIN, nothing read)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def paginate(request: HttpRequest, queryset: QuerySet, order: Order, *, count: bool = True) -> dict:
    """The page asked for (`?after=`, `?before=`, `?last=1`, else the first), as the context
    of core/_list_controls.html and core/_pagination.html."""
    per_page = page_size(request.GET.get("per_page"))
    page = keyset_page(
        queryset,
        order,
        per_page=per_page,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        last=request.GET.get("last") == "1",
        count=count,
    )
    return {"page": page, "per_page": per_page, "page_sizes": PAGE_SIZES, "sort": order.name}


def table_page(
    request: HttpRequest,
    *,
    title: str,
    queryset: QuerySet,
    search: Callable[[QuerySet, str], QuerySet],
    columns: Sequence[Column],
    default_sort: str,
    row: Callable[[Any], Sequence[object]],  # a row of `queryset` (its own model)
    empty: str,
    intro: str = "",
    template: str = "core/simple_list.html",
    extra: dict | None = None,
) -> HttpResponse:
    """A list page; another `template` may show the same list with more around it (`extra`
    in its context), e.g. a campaign's page above its recipients."""
    q = search_text(request)
    if q:
        queryset = search(queryset, q)
    context = paginate(request, queryset, sort_order(request, columns, default_sort))
    labels = [c.label for c in columns]
    return render(
        request,
        template,
        {
            **(extra or {}),
            "title": title,
            "intro": intro,
            "columns": columns,
            "empty": empty,
            # (column label, value) pairs: the label names the cell in a phone's card view;
            # a datetime value is shown like every date (the `when` filter)
            "rows": [list(zip(labels, row(obj), strict=False)) for obj in context["page"]],
            "q": q,
            **context,
        },
    )


def keyset_chunks(
    queryset: QuerySet, order: Order, *, size: int = 2000, values: Sequence[str] = ()
) -> Iterator[list]:
    """Every row of `queryset` in `order`, `size` at a time, each chunk read after the last
    row of the one before (the same row value as the pages: an index range, never OFFSET,
    never a cursor held open between chunks). With `values`, rows are tuples of those fields
    (the order's fields first); an export of a million rows holds one chunk at a time."""
    columns = [*order.fields, *(v for v in values if v not in order.fields)]
    n = len(order.fields)
    ordered = queryset.order_by(*_order_fields(order.fields, order.descending))
    last: tuple | None = None
    while True:
        page = ordered if last is None else _beyond(ordered, order, last, True)
        rows = list(page.values_list(*columns)[:size]) if values else list(page[:size])
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        edge = rows[-1]
        last = tuple(edge[:n]) if values else tuple(getattr(edge, f) for f in order.fields)
