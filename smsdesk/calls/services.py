from __future__ import annotations

from datetime import datetime

from smsdesk.calls.models import Call


def record_call(*, gateway: str, caller: str, at: datetime) -> Call:
    return Call.objects.create(gateway=gateway, caller=caller[:32], at=at)


def replied_since(caller: str, since: datetime) -> bool:
    """Whether `caller` was already answered by SMS after `since` (one answer a day)."""
    return Call.objects.filter(caller=caller, at__gte=since, reply__isnull=False).exists()
