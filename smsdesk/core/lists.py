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

from smsdesk.core import bounds
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
    if not rows:  # no cursor, or nothing left past it (rows deleted): the first page
        rows = first_rows(ordered, per_page + 1)
        has_previous, has_next = False, len(rows) > per_page
        rows = rows[:per_page]
    page = Page(rows=rows, per_page=per_page, has_previous=has_previous, has_next=has_next)
    if rows:
        page.previous_cursor = encode_cursor(order, _values(rows[0], order))
        page.next_cursor = encode_cursor(order, _values(rows[-1], order))
    if count:
        page.count, page.count_exact, page.count_estimated = bounded_count(queryset)
    return page


def first_rows(queryset: QuerySet, n: int) -> list:
    """The first `n` rows of the ordered `queryset`, in two reads: their primary keys (the
    conditions and the sort on narrow rows), then those rows whole, with what the page shows
    beside each (a number's contact name, an author).

    In one read, SQLite computes every selected column of every row that matches before it
    sorts them: a name searched in the Sent list that matches 10,000 messages computed
    10,000 contact names to show 50 (bench/RESULTS.md, issue 21). The second read looks the
    keys up by primary key without the conditions again (they chose the keys, under the
    queryset's organisation)."""
    keys = list(queryset.values_list("pk", flat=True)[:n])
    if not keys:
        return []
    whole = queryset.order_by()
    whole.query.where = WhereNode()
    found = {row.pk: row for row in whole.filter(pk__in=keys)}
    return [found[key] for key in keys if key in found]


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
