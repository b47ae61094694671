"""A paginated, searchable table page, for the simple lists (STOP, calls, directory)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smsdesk.messaging.forms import PAGE_SIZES, page_size


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
    q = request.GET.get("q", "").strip()[:100]
    if q:
        queryset = search(queryset, q)
    per_page = page_size(request.GET.get("per_page"))
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    return render(
        request,
        "core/simple_list.html",
        {
            "title": title,
            "intro": intro,
            "headers": headers,
            "empty": empty,
            "rows": [row(obj) for obj in page],
            "page": page,
            "q": q,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "link_first": link_first,
        },
    )
