"""REST API v1: recurring sends and keyword auto-replies, on the services of their pages
(messaging/recurring.py, messaging/autoreplies.py). A recurring send is created by
`POST /messages` with "repeat"; here it is listed, paused, resumed and deleted."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema, Status

from smsdesk.api.schemas import MAX_ID, ErrorOut, RecurrenceOut, RowId, StrictIn
from smsdesk.messaging import autoreplies, errors, recurring
from smsdesk.messaging.models import AutoReply, Recurrence

router = Router(tags=["automation"])

ID = Path(..., ge=1, le=MAX_ID)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
LIST_LIMIT = 500


def recurrence_out(rec: Recurrence) -> dict:
    return {
        "id": rec.id,
        "repeat": recurring.rule_of(rec).as_record(),
        "next_at": rec.next_at,
        "paused": rec.paused,
        "text": rec.body,
        "time_zone": rec.time_zone,
    }


class RecurrencePage(Schema):
    recurring: list[RecurrenceOut]


@router.get(
    "/recurring",
    response={200: RecurrencePage, 401: ErrorOut},
    summary="Recurring sends, the next one first",
)
def list_recurring(request: HttpRequest):  # type: ignore[no-untyped-def]
    rows = recurring.list_recurrences(org=request.organisation, limit=LIST_LIMIT)
    return {"recurring": [recurrence_out(r) for r in rows]}


class PausedIn(StrictIn):
    paused: bool


@router.patch("/recurring/{recurrence_id}", response={200: RecurrenceOut, **ERRORS})
def pause_recurring(request: HttpRequest, payload: PausedIn, recurrence_id: int = ID):  # type: ignore[no-untyped-def]
    return recurrence_out(
        recurring.set_paused(
            recurrence_id, by=request.user, paused=payload.paused, org=request.organisation
        )
    )


@router.delete("/recurring/{recurrence_id}", response={204: None, **ERRORS})
def delete_recurring(request: HttpRequest, recurrence_id: int = ID):  # type: ignore[no-untyped-def]
    recurring.delete_recurrence(recurrence_id, by=request.user, org=request.organisation)
    return Status(204, None)


class AutoReplyIn(StrictIn):
    keyword: str = Field(..., max_length=200)
    match: str = Field("whole", max_length=10, description="whole, word or contains")
    text: str = Field(..., max_length=5000, description="the answer; fields need a default")
    delay_minutes: int = Field(
        60, ge=1, le=autoreplies.MAX_DELAY_MINUTES, description="at most one answer per number"
    )
    gateway: str = Field("", max_length=64, description="a line's name; empty: every line")
    group: RowId | None = Field(None, description="a group the sender is added to")
    tag: str = Field(
        "", max_length=200, description="a tag put on the sender's discussion (one word)"
    )


class AutoReplyPatchIn(StrictIn):
    """The fields to change; the others keep their value."""

    keyword: str | None = Field(None, max_length=200)
    match: str | None = Field(None, max_length=10, description="whole, word or contains")
    text: str | None = Field(None, max_length=5000)
    delay_minutes: int | None = Field(None, ge=1, le=autoreplies.MAX_DELAY_MINUTES)
    gateway: str | None = Field(None, max_length=64, description="a line's name; empty: every")
    group: RowId | None = Field(None, description="a group id; null: no group")
    tag: str | None = Field(None, max_length=200, description="one word; empty: no tag")
    active: bool | None = Field(None, description="false: the rule no longer answers")


class AutoReplyOut(Schema):
    id: int
    keyword: str
    match: str
    text: str
    delay_minutes: int
    gateway: str
    group: int | None
    tag: str
    active: bool
    position: int


def _rule_out(rule: AutoReply) -> dict:
    return {
        "id": rule.id,
        "keyword": rule.keyword,
        "match": rule.match,
        "text": rule.text,
        "delay_minutes": rule.delay_minutes,
        "gateway": rule.gateway,
        "group": rule.group_id,
        "tag": rule.tag,
        "active": rule.active,
        "position": rule.position,
    }


class AutoReplyPage(Schema):
    autoreplies: list[AutoReplyOut]


@router.get(
    "/autoreplies", response={200: AutoReplyPage, 401: ErrorOut}, summary="Auto-replies, in order"
)
def list_autoreplies(request: HttpRequest):  # type: ignore[no-untyped-def]
    rules = autoreplies.list_rules(org=request.organisation)
    return {"autoreplies": [_rule_out(r) for r in rules]}


@router.post(
    "/autoreplies",
    response={201: AutoReplyOut, **ERRORS},
    summary="Add a keyword auto-reply (administrators)",
)
def create_autoreply(request: HttpRequest, payload: AutoReplyIn):  # type: ignore[no-untyped-def]
    rule = autoreplies.create_rule(by=request.user, org=request.organisation, **payload.dict())
    return Status(201, _rule_out(rule))


@router.patch(
    "/autoreplies/{rule_id}",
    response={200: AutoReplyOut, **ERRORS},
    summary="Change an auto-reply in place (administrators); fields not given keep their value",
)
def update_autoreply(request: HttpRequest, payload: AutoReplyPatchIn, rule_id: int = ID):  # type: ignore[no-untyped-def]
    changes = payload.dict(exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k != "group"]
    if nulls:  # null only means "none" for the group
        raise errors.InvalidAutoReply(
            _("%(field)s cannot be null.") % {"field": nulls[0]}, field=nulls[0]
        )
    rule = autoreplies.update_rule(rule_id, by=request.user, org=request.organisation, **changes)
    return _rule_out(rule)


@router.delete("/autoreplies/{rule_id}", response={204: None, **ERRORS})
def delete_autoreply(request: HttpRequest, rule_id: int = ID):  # type: ignore[no-untyped-def]
    autoreplies.delete_rule(rule_id, by=request.user, org=request.organisation)
    return Status(204, None)
