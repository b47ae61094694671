"""The figures of the home page."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from smsdesk.messaging import outbox
from smsdesk.messaging import services as messaging_services
from smsdesk.messaging.models import Message
from smsdesk.worker.services import gateway_overview

S = Message.Status
PERIODS = (("day", timedelta(days=1)), ("week", timedelta(days=7)), ("month", timedelta(days=30)))


def figures() -> dict:
    now = timezone.now()
    out = Q(direction=Message.Direction.OUTBOUND)
    inbound = Q(direction=Message.Direction.INBOUND)
    aggregates = {}
    for key, span in PERIODS:
        since = Q(created_at__gte=now - span)
        aggregates[f"sent_{key}"] = Count(
            "id", filter=out & since & ~Q(status__in=[S.SCHEDULED, S.CANCELLED, S.BLOCKED])
        )
        aggregates[f"delivered_{key}"] = Count("id", filter=out & since & Q(status=S.DELIVERED))
        aggregates[f"failed_{key}"] = Count(
            "id", filter=out & since & Q(status__in=[S.FAILED, S.UNKNOWN])
        )
        aggregates[f"received_{key}"] = Count("id", filter=inbound & since)
    row = Message.objects.filter(created_at__gte=now - PERIODS[-1][1]).aggregate(**aggregates)
    periods = [
        {
            "key": key,
            "sent": row[f"sent_{key}"],
            "delivered": row[f"delivered_{key}"],
            "failed": row[f"failed_{key}"],
            "received": row[f"received_{key}"],
        }
        for key, _span in PERIODS
    ]
    gateways = gateway_overview(now)
    report_timeout = settings.SMSDESK_REPORT_TIMEOUT
    return {
        "periods": periods,
        "unread": messaging_services.unread_total(),
        "waiting": Message.objects.filter(status__in=[S.QUEUED, S.SENDING]).count(),
        "scheduled": Message.objects.filter(status=S.SCHEDULED).count(),
        "gateways": gateways,
        "report_timeout_hours": report_timeout,
        "no_report": outbox.awaiting_report(sent_before=now - timedelta(hours=report_timeout)),
    }
