"""/api/v1/campaigns: a send's counts per state, cancel and retry, through the same
services as the campaign page (messaging/campaigns.py)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from smsdesk.api.schemas import MAX_ID, ErrorOut
from smsdesk.messaging import campaigns
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
    recipients: int
    counts: CountsOut


class CampaignPage(Schema):
    next_cursor: int | None
    campaigns: list[CampaignOut]


class ChangedOut(Schema):
    changed: int


def _out(campaign: Campaign, counts: campaigns.Counts) -> dict:
    return {
        "id": campaign.id,
        "text": campaign.body,
        "tag": campaign.tag,
        "author": campaign.author.username if campaign.author else None,
        "source": campaign.source,
        "commercial": campaign.commercial,
        "created_at": campaign.created_at,
        "send_at": campaign.send_at,
        "recipients": campaign.recipient_count,
        "counts": {
            **{name: counts[name] for name, *_rest in campaigns.BUCKETS},
            "total": counts.total,
            "percent_done": counts.percent_done,
        },
    }


@router.get(
    "",
    response={200: CampaignPage, 401: ErrorOut, 422: ErrorOut},
    summary="Campaigns, newest first",
)
def list_campaigns(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    tag: str = Query("", max_length=50),
    q: str = Query("", max_length=100),
    before: int | None = Query(
        None, ge=1, le=MAX_ID, description="only campaigns with a smaller id"
    ),
    limit: int = Query(50, ge=1, le=200),
):
    qs = campaigns.campaign_list(search=q, tag=tag).order_by("-id")
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs[: limit + 1])
    shown = rows[:limit]
    counts = campaigns.counts(c.id for c in shown)
    return {
        "next_cursor": shown[-1].id if len(rows) > limit else None,
        "campaigns": [_out(c, counts[c.id]) for c in shown],
    }


@router.get(
    "/{campaign_id}",
    response={200: CampaignOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="One campaign",
)
def get_campaign(request: HttpRequest, campaign_id: int = Path(..., ge=1, le=MAX_ID)):  # type: ignore[no-untyped-def]
    campaign = campaigns.get_campaign(campaign_id)
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
def cancel(request: HttpRequest, campaign_id: int = Path(..., ge=1, le=MAX_ID)):  # type: ignore[no-untyped-def]
    return {"changed": campaigns.cancel_campaign(campaign_id, by=request.user)}


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
def retry(request: HttpRequest, campaign_id: int = Path(..., ge=1, le=MAX_ID)):  # type: ignore[no-untyped-def]
    return {"changed": campaigns.retry_campaign(campaign_id, by=request.user)}
