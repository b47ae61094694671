"""Paginated, searchable lists: the "Afficher N" and "Rechercher" of every list in the manual."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

PAGE_SIZES = (10, 25, 50, 100)
MAX_SEARCH = 100


def page_size(raw: str | None) -> int:
    try:
        size = int(raw or 0)
    except ValueError:
        return PAGE_SIZES[1]
    return size if size in PAGE_SIZES else PAGE_SIZES[1]


def search_text(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_SEARCH]


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
    headers: Sequence[str],
    row: Callable[[Model], Sequence[object]],
    empty: str,
    intro: str = "",
    link_first: bool = False,
) -> HttpResponse:
    q = search_text(request)
    if q:
        queryset = search(queryset, q)
    context = paginate(request, queryset)
    return render(
        request,
        "core/simple_list.html",
        {
            "title": title,
            "intro": intro,
            "headers": headers,
            "empty": empty,
            "rows": [row(obj) for obj in context["page"]],
            "q": q,
            **context,
            "link_first": link_first,
        },
    )
