"""/api/v1/audit: the audit log (Journal), for administrators' tokens (scope audit:read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core.lists import api_count

router = Router(tags=["audit"])


class EntryOut(Schema):
    id: int
    at: datetime
    actor: str | None = Field(..., description="the user's name; null: the platform")
    via: str = Field(..., description="web, api, cli or system")
    action: str
    target_type: str
    target_id: str
    target: str
    before: Any = None
    after: Any = None
    ip: str


class EntryPage(Schema):
    count: int = Field(..., description=COUNT_HELP)
    count_exact: bool = Field(..., description=COUNT_EXACT_HELP)
    next_cursor: int | None = Field(..., description=NEXT_CURSOR_HELP)
    entries: list[EntryOut]


@router.get(
    "",
    response={200: EntryPage, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="The audit log, newest first",
)
def list_entries(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    since: Moment | None = Query(None, description="ISO 8601, at or after"),  # noqa: B008
    actor: str = Query("", max_length=150, description="a user name"),
    action: str = Query("", max_length=32, description=", ".join(Action.values)),
    before: int | None = Query(None, ge=1, le=MAX_ID, description=paging.CURSOR_HELP),
    limit: int = Query(50, ge=1, le=500),
):
    org = getattr(request, "organisation", None) or audit.PLATFORM  # the token's organisation
    qs = audit.entries(
        org=org,
        since=since,
        actor=actor.strip(),
        action=action if action in Action.values else "",
    ).order_by("-id")
    if action and action not in Action.values:
        qs = qs.none()
    counted = api_count(qs)
    rows, next_cursor = paging.cursor_page(
        qs, scope=audit.entries(org=org), time_field="at", limit=limit, before=before
    )
    return {
        **counted,
        "next_cursor": next_cursor,
        "entries": [
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor_name or None,
                "via": e.via,
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "target": e.target,
                "before": e.before,
                "after": e.after,
                "ip": e.ip,
            }
            for e in rows
        ],
    }
