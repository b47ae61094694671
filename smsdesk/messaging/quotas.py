"""Quotas: how many SMS parts an organisation may send per day and per month (issue 16).

The platform administrator sets them (`smsdesk org quota`, the organisation's platform page);
0 means no limit. A send is counted when it is saved (`sending.create_campaign`), in the
transaction that saves it: its parts (each recipient's text, blocked numbers excepted) are
added to the organisation's use of the day and of the month, and a send that would go over
either is refused whole, before anything is written, saying what remains.

Concurrent sends of one organisation are counted one after the other: the organisation's row
is locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite writes one transaction at a time), so
100 sends at once never go over by even one part. Days and months are the organisation's
local ones (its time zone, else SMSDESK_TIME_ZONE). The SMS the platform sends on its own (a
STOP confirmation, an auto-reply, the answer to a call) are not counted: they answer what
came in. A cancelled send does not give its parts back (as with a prepaid plan).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.accounts.models import Organisation
from smsdesk.core import tenancy
from smsdesk.messaging import errors
from smsdesk.messaging.models import QuotaUse

WARN_AT = 0.8  # the home page warns from 80 % of a quota on


@dataclass(frozen=True)
class Use:
    """One quota's state: `limit` 0 = none."""

    period: str  # "day" or "month"
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used) if self.limit else -1

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 0.0

    @property
    def warning(self) -> bool:
        return bool(self.limit) and self.share >= WARN_AT

    @property
    def reached(self) -> bool:
        return bool(self.limit) and self.used >= self.limit


def _zone(org: Any) -> zoneinfo.ZoneInfo:
    name = getattr(org, "time_zone", "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _periods(org: Any, now: datetime) -> tuple[str, str, datetime, datetime]:
    """The keys of today and this month (local to `org`) and when each ends."""
    zone = _zone(org)
    local = now.astimezone(zone)
    today = local.date()
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    day_ends = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    month_ends = datetime.combine(next_month, datetime.min.time(), zone)
    return f"d{today.isoformat()}", f"m{first.isoformat()[:7]}", day_ends, month_ends


def _organisation(org: Any) -> Organisation:
    org = tenancy.resolve(org)
    return org if isinstance(org, Organisation) else Organisation.objects.get(pk=org)


def usage(org: Any = None, *, now: datetime | None = None) -> tuple[Use, Use]:
    """Today's and this month's use of `org`'s quotas (one query)."""
    org = _organisation(org)
    now = now or timezone.now()
    day_key, month_key, day_ends, month_ends = _periods(org, now)
    used = dict(
        QuotaUse.objects.for_org(org)
        .filter(period__in=(day_key, month_key))
        .values_list("period", "parts")
    )
    return (
        Use("day", org.quota_day, used.get(day_key, 0), day_ends),
        Use("month", org.quota_month, used.get(month_key, 0), month_ends),
    )


def _add(org: Any, period: str, parts: int) -> None:
    mine = QuotaUse.objects.for_org(org)
    if mine.filter(period=period).update(parts=F("parts") + parts):
        return
    try:
        with transaction.atomic():
            QuotaUse.objects.create(organisation=org, period=period, parts=parts)
    except IntegrityError:  # created meanwhile (no quota set, so no lock was taken)
        mine.filter(period=period).update(parts=F("parts") + parts)


def take(org: Any, parts: int, *, now: datetime | None = None) -> None:
    """Count `parts` against `org`'s quotas, or refuse (QuotaExceeded) when that would go over
    one of them. Call it in the transaction that saves the send, before writing it."""
    if parts <= 0:
        return
    org = _organisation(org)
    now = now or timezone.now()
    if org.quota_day or org.quota_month:
        # Read again under a lock of the organisation's row: one send of this organisation
        # at a time from here to the commit, with the quotas as they are now (PostgreSQL;
        # SQLite's IMMEDIATE transactions already write one at a time).
        org.quota_day, org.quota_month = (
            Organisation.objects.select_for_update()
            .filter(pk=org.pk)
            .values_list("quota_day", "quota_month")
            .get()
        )
    day, month = usage(org, now=now)
    for use in (day, month):
        if use.limit and use.used + parts > use.limit:
            refused = errors.QuotaExceeded(_refusal(use, parts), field="text")
            refused.retry_after = max(1, int((use.resets_at - now).total_seconds()))
            raise refused
    day_key, month_key, _d, _m = _periods(org, now)
    _add(org, day_key, parts)
    _add(org, month_key, parts)


def _refusal(use: Use, parts: int) -> str:
    asked = ngettext("%(n)d SMS part", "%(n)d SMS parts", parts) % {"n": parts}
    left = use.remaining
    if use.period == "day":
        return _(
            "This send needs %(asked)s; the daily quota allows %(left)d more today "
            "(%(limit)d a day). Nothing was sent. Send to fewer numbers, or tomorrow."
        ) % {"asked": asked, "left": left, "limit": use.limit}
    return _(
        "This send needs %(asked)s; the monthly quota allows %(left)d more this month "
        "(%(limit)d a month). Nothing was sent. Send to fewer numbers, or ask your provider."
    ) % {"asked": asked, "left": left, "limit": use.limit}
