"""/api/v1/calls: the calls the SIM received."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from smsdesk.api import paging
from smsdesk.api.schemas import (
    COUNT_EXACT_HELP,
    COUNT_HELP,
    MAX_ID,
    NEXT_CURSOR_HELP,
    ErrorOut,
    Moment,
)
from smsdesk.calls.models import Call
from smsdesk.core.lists import api_count
from smsdesk.sms import errors as sms_errors
from smsdesk.sms import numbers

router = Router(tags=["calls"])


class CallOut(Schema):
    id: int
    caller: str | None  # None: the number was hidden
    at: datetime
    gateway: str
    replied: bool


class CallPage(Schema):
    count: int = Field(..., description=COUNT_HELP)
    count_exact: bool = Field(..., description=COUNT_EXACT_HELP)
    next_cursor: int | None = Field(..., description=NEXT_CURSOR_HELP)
    calls: list[CallOut]


@router.get(
    "",
    response={200: CallPage, 401: ErrorOut, 422: ErrorOut},
    summary="Calls received, newest first",
)
def list_calls(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    number: str = Query("", max_length=64, description="the caller, any format"),
    since: Moment | None = Query(None, description="ISO 8601, at or after"),  # noqa: B008
    until: Moment | None = Query(None, description="ISO 8601, before"),  # noqa: B008
    before: int | None = Query(None, ge=1, le=MAX_ID, description=paging.CURSOR_HELP),
    limit: int = Query(50, ge=1, le=500),
):
    qs = Call.objects.for_org(request.organisation)
    if number.strip():
        try:
            caller = numbers.normalise(number, default_region=settings.SMSDESK_DEFAULT_REGION)
        except sms_errors.InvalidNumber:
            caller = number.strip()  # a short code or a name, as recorded
        qs = qs.filter(caller=caller)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    counted = api_count(qs)
    rows, next_cursor = paging.cursor_page(
        qs,
        scope=Call.objects.for_org(request.organisation),
        time_field="at",
        limit=limit,
        before=before,
    )
    return {
        **counted,
        "next_cursor": next_cursor,
        "calls": [
            {
                "id": c.id,
                "caller": c.caller or None,
                "at": c.at,
                "gateway": c.gateway,
                "replied": c.reply_id is not None,
            }
            for c in rows
        ],
    }
