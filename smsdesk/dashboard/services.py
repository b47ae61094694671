"""The figures of the home page, read from maintained counters (messaging/stats.py) and
the queue table, never by scanning messages: the home page costs the same at a million."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from smsdesk.core import tenancy
from smsdesk.messaging import quotas, receiving, stats
from smsdesk.messaging.models import Campaign, Message
from smsdesk.worker.services import gateway_overview

E = stats.Event
PERIODS = (("day", 1), ("week", 7), ("month", 30))
CHART_DAYS = 30


def delivery_rate(delivered: int, failed: int, unknown: int) -> int | None:
    """Delivered ÷ (delivered + failed + unknown) over a period, in whole percent (None when
    none of them happened): of the SMS whose fate is known or lost, the share that arrived.
    Refused and lost ones count against it, so "100 %" never stands beside failures; those
    still waiting for their report count neither way. Never above 100."""
    settled = delivered + failed + unknown
    return min(100, round(100 * delivered / settled)) if settled else None


def next_scheduled_campaign(now: datetime, *, org: Any = None) -> Campaign | None:
    """The next campaign due later that still has a message waiting (one query: the campaign
    table is small, its messages are found through their campaign index). A scalar
    subquery with LIMIT 1, not EXISTS: PostgreSQL turns EXISTS into a semi join and, misled
    by `status` having no statistics worth the name, read every message for it (90 ms at
    a million messages, bench/RESULTS.md); a subquery stays a per-campaign index lookup."""
    org = tenancy.resolve(org)
    waiting = Message.objects.across_orgs().filter(  # the campaign's own (of `org`)
        campaign=OuterRef("pk"), status=Message.Status.SCHEDULED
    )
    return (
        Campaign.objects.for_org(org)
        .filter(send_at__gt=now)
        # unordered: any one waiting message will do (sorted, PostgreSQL sorted each
        # campaign's messages of every month of the partitioned table first)
        .annotate(waiting_id=Subquery(waiting.order_by().values("id")[:1]))
        .filter(waiting_id__isnull=False)
        .order_by("send_at", "id")
        .first()
    )


def figures(now: datetime | None = None, *, org: Any = None) -> dict:
    """The home page of organisation `org`: its own figures only."""
    now = now or timezone.now()
    org = tenancy.resolve(org)
    counts = stats.read(now, org=org, days=CHART_DAYS)
    periods = []
    for key, days in PERIODS:
        delivered = counts.total(E.DELIVERED, days=days)
        failed = counts.total(E.FAILED, days=days)
        unknown = counts.total(E.UNKNOWN, days=days)
        periods.append(
            {
                "key": key,
                "sent": counts.total(E.SENT, days=days),
                "delivered": delivered,
                "failed": failed,
                "unknown": unknown,
                "received": counts.total(E.RECEIVED, days=days),
                "rate": delivery_rate(delivered, failed, unknown),
            }
        )
    gateways = gateway_overview(now, counts=counts, org=org)
    report_timeout = settings.SMSDESK_REPORT_TIMEOUT
    sent_per_day = counts.per_day(E.SENT, days=CHART_DAYS)
    received_per_day = counts.per_day(E.RECEIVED, days=CHART_DAYS)
    days = [
        {
            "label": formats.date_format(day, "MONTH_DAY_FORMAT"),
            "sent": sent,
            "received": received,
        }
        for (day, sent), (_day, received) in zip(sent_per_day, received_per_day, strict=True)
    ]
    return {
        "periods": periods,
        "days": days,
        "chart": {
            "labels": [d["label"] for d in days],
            "series": [
                {"label": _("Sent"), "data": [d["sent"] for d in days]},
                {"label": _("Received"), "data": [d["received"] for d in days]},
            ],
        },
        "unread": receiving.unread_total(org=org),
        # the quotas set for the organisation (none: nothing shown), warned of from 80 %
        "quotas": [u for u in quotas.usage(org, now=now) if u.limit],
        "waiting": sum(g.queue_due for g in gateways),  # type: ignore[attr-defined]
        "scheduled": sum(g.queue_later for g in gateways),  # type: ignore[attr-defined]
        "next_campaign": next_scheduled_campaign(now, org=org),
        "gateways": gateways,
        "report_timeout_hours": report_timeout,
        # Whole days sent before the one the time-out falls in: all older than it.
        "no_report": counts.sent_without_report(
            before=stats.local_day(now - timedelta(hours=report_timeout))
        ),
    }
