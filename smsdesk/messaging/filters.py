"""The message lists' filter, shared by the web pages and the API."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from smsdesk.core import tenancy
from smsdesk.core.lists import MAX_SEARCH
from smsdesk.core.text import search_safe
from smsdesk.directory import services as directory
from smsdesk.messaging import words
from smsdesk.messaging.models import Conversation, Message, UnreadEntry
from smsdesk.sms import numbers

PERIODS = {"day": 1, "week": 7, "month": 30}  # the home page's periods, in local days


def period_start(period: str, now: datetime) -> datetime | None:
    """The first moment of a home page period (`day`: since local midnight; `week`, `month`:
    the 7 or 30 local days ending today), None for anything else."""
    days = PERIODS.get(period)
    if days is None:
        return None
    zone = timezone.get_default_timezone()  # the counters' calendar (stats.local_day)
    first = timezone.localdate(now, zone) - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first, time.min), zone)


def message_list(
    *,
    org: Any = None,
    direction: str | None = None,
    status: str | None = None,
    search: str = "",
    since: datetime | None = None,
) -> QuerySet[Message]:
    org = tenancy.resolve(org)
    qs = Message.objects.for_org(org)
    if direction:
        qs = qs.filter(direction=direction)
    if since is not None:  # a range of the list's own index (direction, created_at, id)
        qs = qs.filter(created_at__gte=since)
    if status == Message.Status.UNREAD:
        # The few unread ones through their narrow table (no index on status, on purpose).
        qs = qs.filter(id__in=UnreadEntry.objects.for_org(org).values("message_id"))
    if status:
        qs = qs.filter(status=status)
    search = search_safe(search).strip()[:MAX_SEARCH]
    if search:
        qs = qs.filter(search_condition(search, org=org))
    return directory.with_names(qs, "peer").select_related("author", "cancelled_by", "retried_by")


def search_condition(search: str, *, org: Any = None) -> Q:
    """The manual's "Rechercher" over messages: a number in any format as the start of the
    E.164 number (the peer index); digits alone anywhere in a number or as a word of the text;
    anything else, the words of the text (the text index, see `words`), a contact's name or an
    alphanumeric sender. Numbers holding a text are looked up among the conversations (one
    row per number), then the messages through the peer index."""
    org = tenancy.resolve(org)

    def _peers_holding(text: str) -> QuerySet:
        convs = Conversation.objects.for_org(org).filter(peer__icontains=text)
        if not text.lstrip("+").isdigit():
            # Letters are never in an E.164 number ("+33…"), only in an alphanumeric sender
            # or a short code: the two ranges of the peer index around "+", not every row
            # (a name searched in a list of 100,000 discussions read them all: 60 ms).
            convs = convs.filter(Q(peer__lt="+") | Q(peer__gte=","))
        return convs.order_by().values_list("peer", flat=True)

    by_number = directory.number_search(search, "peer", containing=_peers_holding, org=org)
    prefix = numbers.search_prefix(search, default_region=directory.region())
    if prefix is not None and prefix[1]:  # "06 15 26…", "+33…", "0033…": a number only
        return by_number
    return by_number | words.match(search, org=org)
