from __future__ import annotations

from datetime import datetime

from smsdesk.calls.models import Call


def record_call(*, gateway: str, caller: str, at: datetime) -> Call:
    return Call.objects.create(gateway=gateway, caller=caller[:32], at=at)
