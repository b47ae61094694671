"""Paginated, searchable, sortable lists: the "Afficher N" and "Rechercher" of the manual's
lists, and column headers that sort (`?sort=date`, `?sort=-date` for the other way)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smsdesk.core.text import search_safe

PAGE_SIZES = (10, 25, 50, 100)
MAX_SEARCH = 100


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
    order_by: tuple[str, ...] = ()  # the ascending order, as model fields


def sort_by(
    request: HttpRequest, queryset: QuerySet, columns: Sequence[Column], default: str
) -> tuple[QuerySet, str]:
    """`queryset` in the order `?sort=` asks for (or `default`), and that sort's name."""
    orders = {c.sort: c.order_by for c in columns if c.sort}
    sort = request.GET.get("sort", "")
    if sort.removeprefix("-") not in orders:
        sort = default
    fields = orders[sort.removeprefix("-")]
    if sort.startswith("-"):
        fields = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
    return queryset.order_by(*fields), sort


def search_text(request: HttpRequest) -> str:
    return search_safe(request.GET.get("q", "")).strip()[:MAX_SEARCH]


def paginate(request: HttpRequest, queryset: QuerySet) -> dict:
    """The page asked for, as the context of core/_list_controls.html and _pagination.html."""
    per_page = page_size(request.GET.get("per_page"))
    return {
        "page": Paginator(queryset, per_page).get_page(request.GET.get("page")),
        "per_page": per_page,
        "page_sizes": PAGE_SIZES,
    }


def table_page(
    request: HttpRequest,
    *,
    title: str,
    queryset: QuerySet,
    search: Callable[[QuerySet, str], QuerySet],
    columns: Sequence[Column],
    default_sort: str,
    row: Callable[[Model], Sequence[object]],
    empty: str,
    intro: str = "",
    link_first: bool = False,
    template: str = "core/simple_list.html",
    extra: dict | None = None,
) -> HttpResponse:
    """A list page; another `template` may show the same list with more around it (`extra`
    in its context), e.g. a campaign's page above its recipients."""
    q = search_text(request)
    if q:
        queryset = search(queryset, q)
    queryset, sort = sort_by(request, queryset, columns, default_sort)
    context = paginate(request, queryset)
    labels = [c.label for c in columns]
    return render(
        request,
        template,
        {
            **(extra or {}),
            "title": title,
            "intro": intro,
            "columns": columns,
            "sort": sort,
            "empty": empty,
            # (column label, value) pairs: the label names the cell in a phone's card view;
            # a datetime value is shown like every date (the `when` filter)
            "rows": [list(zip(labels, row(obj), strict=False)) for obj in context["page"]],
            "q": q,
            **context,
            "link_first": link_first,
        },
    )
