"""The message lists' filter, shared by the web pages and the API."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from smsdesk.core.lists import MAX_SEARCH
from smsdesk.core.text import search_safe
from smsdesk.directory import services as directory
from smsdesk.messaging.models import Message


def message_list(
    *, direction: str | None = None, status: str | None = None, search: str = ""
) -> QuerySet[Message]:
    qs = Message.objects.all()
    if direction:
        qs = qs.filter(direction=direction)
    if status:
        qs = qs.filter(status=status)
    search = search_safe(search).strip()[:MAX_SEARCH]
    if search:
        # The manual: "Rechercher" looks in the numbers and in the text of the messages;
        # numbers in any common format, and contacts by name.
        qs = qs.filter(Q(body__icontains=search) | directory.number_search(search, "peer"))
    return directory.with_names(qs, "peer").select_related("author", "cancelled_by", "retried_by")
