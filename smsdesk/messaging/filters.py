"""The message lists' filter, shared by the web pages and the API."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from smsdesk.core.lists import MAX_SEARCH
from smsdesk.messaging.models import Message


def message_list(
    *, direction: str | None = None, status: str | None = None, search: str = ""
) -> QuerySet[Message]:
    qs = Message.objects.all()
    if direction:
        qs = qs.filter(direction=direction)
    if status:
        qs = qs.filter(status=status)
    search = search.strip()[:MAX_SEARCH]
    if search:
        # The manual: "Rechercher" looks in the numbers and in the text of the messages.
        digits = "".join(c for c in search if c.isdigit())
        cond = Q(body__icontains=search) | Q(peer__icontains=search)
        if len(digits) >= 4:
            cond |= Q(peer__contains=digits.lstrip("0"))
        qs = qs.filter(cond)
    return qs.select_related("author")
