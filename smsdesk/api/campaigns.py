"""/api/v1/campaigns: a send's counts per state, cancel and retry, through the same
services as the campaign page (messaging/campaigns.py)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import File, Form, Path, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from smsdesk.api import paging
from smsdesk.api.schemas import (
    COUNT_EXACT_HELP,
    COUNT_HELP,
    MAX_ID,
    NEXT_CURSOR_HELP,
    ErrorOut,
    Moment,
    StrictIn,
)
from smsdesk.core.lists import api_count
from smsdesk.directory import imports, invalid
from smsdesk.messaging import campaigns, sending
from smsdesk.messaging.models import Campaign

router = Router(tags=["campaigns"])


class CountsOut(Schema):
    waiting: int
    sent: int
    delivered: int
    failed: int
    blocked: int
    unknown: int
    cancelled: int
    total: int
    percent_done: int


class CampaignOut(Schema):
    id: int
    text: str
    tag: str
    author: str | None
    source: str
    commercial: bool
    created_at: datetime
    send_at: datetime
    finished_at: datetime | None = Field(
        None, description="when its last message reached a final state (campaign.finished)"
    )
    recipients: int
    counts: CountsOut


class CampaignPage(Schema):
    next_cursor: int | None
    campaigns: list[CampaignOut]


class ChangedOut(Schema):
    changed: int


def _out(campaign: Campaign, counts: campaigns.Counts) -> dict:
    return campaigns.campaign_data(campaign, counts)


@router.get(
    "",
    response={200: CampaignPage, 401: ErrorOut, 422: ErrorOut},
    summary="Campaigns, newest first",
)
def list_campaigns(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    tag: str = Query("", max_length=50),
    q: str = Query("", max_length=100),
    before: int | None = Query(None, ge=1, le=MAX_ID, description=paging.CURSOR_HELP),
    limit: int = Query(50, ge=1, le=200),
):
    shown, next_cursor = paging.cursor_page(
        campaigns.campaign_list(org=request.organisation, search=q, tag=tag),
        scope=Campaign.objects.for_org(request.organisation),
        time_field="created_at",
        limit=limit,
        before=before,
    )
    counts = campaigns.counts(c.id for c in shown)
    return {
        "next_cursor": next_cursor,
        "campaigns": [_out(c, counts[c.id]) for c in shown],
    }


@router.get(
    "/{campaign_id}",
    response={200: CampaignOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="One campaign",
)
def get_campaign(request: HttpRequest, campaign_id: int = Path(..., ge=1, le=MAX_ID)):  # type: ignore[no-untyped-def]
    campaign = campaigns.get_campaign(campaign_id, org=request.organisation)
    return _out(campaign, campaigns.counts([campaign.id])[campaign.id])


@router.post(
    "/{campaign_id}/cancel",
    response={
        200: ChangedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Cancel the campaign's messages that have not gone out",
)
def cancel_campaign(request: HttpRequest, campaign_id: int = Path(..., ge=1, le=MAX_ID)):  # type: ignore[no-untyped-def]
    return {
        "changed": campaigns.cancel_campaign(campaign_id, by=request.user, org=request.organisation)
    }


@router.post(
    "/{campaign_id}/retry",
    response={
        200: ChangedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Queue again the failed and unknown messages (an unknown one may have arrived)",
)
def retry_campaign(request: HttpRequest, campaign_id: int = Path(..., ge=1, le=MAX_ID)):  # type: ignore[no-untyped-def]
    return {
        "changed": campaigns.retry_campaign(campaign_id, by=request.user, org=request.organisation)
    }


class InvalidNumberOut(Schema):
    line: int | None = Field(..., description="its line in the file of recipients")
    number: str = Field(..., description="as given (a control character shown as U+FFFD)")
    reason: str = Field(..., description="too short, too long, contains letters, ...")
    message: str = Field(..., description="the reason in the token's language")


class InvalidNumberPage(Schema):
    count: int = Field(..., description=COUNT_HELP)
    count_exact: bool = Field(..., description=COUNT_EXACT_HELP)
    next_cursor: int | None = Field(..., description=NEXT_CURSOR_HELP)
    invalid: list[InvalidNumberOut]


@router.get(
    "/{campaign_id}/invalid",
    response={200: InvalidNumberPage, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="The numbers the campaign's file refused, with why, in file order; page with "
    "`after` = the previous next_cursor",
)
def campaign_invalid_numbers(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    campaign_id: int = Path(..., ge=1, le=MAX_ID),
    after: int | None = Query(None, ge=1, le=MAX_ID, description="only numbers after this cursor"),
    limit: int = Query(100, ge=1, le=500),
):
    campaign = campaigns.get_campaign(campaign_id, org=request.organisation)
    if campaign.invalid_report_id is None:
        return {"count": 0, "count_exact": True, "next_cursor": None, "invalid": []}
    report = invalid.get_report(campaign.invalid_report_id, org=request.organisation)
    qs = invalid.numbers_of(report).order_by("id")
    counted = api_count(qs)
    if after is not None:
        qs = qs.filter(id__gt=after)  # keyset on the primary key: no OFFSET
    rows = list(qs[: limit + 1])
    return {
        **counted,
        "next_cursor": rows[limit - 1].id if len(rows) > limit else None,
        "invalid": [
            {
                "line": n.line,
                "number": n.number,
                "reason": n.reason,
                "message": invalid.reason_text(n),
            }
            for n in rows[:limit]
        ],
    }


class RejectedLineOut(Schema):
    line: int
    reason: str
    text: str


class DuplicateLineOut(Schema):
    line: int
    first_line: int
    number: str


class FileReportOut(Schema):
    accepted: int
    fields: list[str]
    ignored_columns: list[str]
    duplicates: list[DuplicateLineOut]
    rejected: list[RejectedLineOut]


class FromFileOut(Schema):
    campaign: CampaignOut | None
    file: FileReportOut


class FromFileIn(StrictIn):
    text: str = Field(
        "",
        max_length=5000,
        description="may use the file's columns as fields, {column} or {column|default}",
    )
    send_at: Moment | None = Field(None, description="ISO 8601; omitted: send now")
    commercial: bool = False
    tag: str = Field("", max_length=50)
    smart_encoding: bool = Field(
        False, description="typographic characters replaced by GSM look-alikes (as POST /messages)"
    )
    dry_run: bool = Field(
        False, description="only read the file: its report, as New SMS previews it, no send"
    )


MAX_LINES_REPORTED = 1000


@router.post(
    "",
    response={
        200: FromFileOut,
        201: FromFileOut,
        400: ErrorOut,
        401: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    summary="Send to the numbers of an uploaded CSV file, its columns usable as fields",
)
def send_from_file(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    form: Form[FromFileIn],
    file: File[UploadedFile],
):
    """multipart/form-data: `file` (the CSV, read as the contact import reads it: encoding,
    separator, header, per-line refusals) and the fields of New SMS. The answer reports the
    file's lines (rejected ones with their line number) beside the campaign; a dry run only
    reads the file."""
    if file.size is not None and file.size > imports.max_bytes():
        raise imports.too_big(file.size)
    recipients = imports.read_recipients(file.read(), name=file.name or "")
    report = _file_report(recipients)
    if form.dry_run:
        return Status(200, {"campaign": None, "file": report})
    campaign = sending.create_campaign(
        author=request.user,
        org=request.organisation,
        body=form.text,
        recipient_file=recipients,
        send_at=form.send_at,
        source="api",
        commercial=form.commercial,
        tag=form.tag,
        smart_encoding=form.smart_encoding,
        token=getattr(request, "api_token", None),
    )
    counts = campaigns.counts([campaign.id])[campaign.id]
    return Status(201, {"campaign": _out(campaign, counts), "file": report})


def _file_report(result: imports.RecipientFile) -> dict:
    return {
        "accepted": len(result.recipients),
        "fields": result.fields,
        "ignored_columns": result.ignored_columns,
        "duplicates": [
            {"line": d.line, "first_line": d.first_line, "number": d.number}
            for d in result.duplicates[:MAX_LINES_REPORTED]
        ],
        "rejected": [
            {"line": r.line, "reason": r.reason, "text": r.text}
            for r in result.rejected[:MAX_LINES_REPORTED]
        ],
    }
