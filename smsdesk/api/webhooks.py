"""/api/v1/webhooks: the endpoints told of events (administrators; scope webhooks:admin)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from smsdesk.api.schemas import MAX_ID, ErrorOut, StrictIn
from smsdesk.webhooks import services
from smsdesk.webhooks.models import Endpoint, EventType

router = Router(tags=["webhooks"])


class WebhookIn(StrictIn):
    url: str = Field(..., max_length=2000, description="http:// or https://, a public address")
    events: list[EventType] = Field(..., min_length=1, max_length=len(EventType.values))
    description: str = Field("", max_length=200)


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(..., description="signs every delivery; shown this once only")


class WebhookList(Schema):
    webhooks: list[WebhookOut]


def _out(e: Endpoint) -> dict:
    return {
        "id": e.id,
        "url": e.url,
        "events": e.events,
        "description": e.description,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
        "created_at": e.created_at,
    }


@router.post(
    "",
    response={201: WebhookCreatedOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut},
    summary="Register an endpoint for events; its secret is in this answer only",
)
def create_webhook(request: HttpRequest, payload: WebhookIn):  # type: ignore[no-untyped-def]
    endpoint, secret = services.create_endpoint(
        by=request.user,
        org=request.organisation,
        url=payload.url,
        events=[str(e) for e in payload.events],
        description=payload.description,
    )
    return Status(201, {**_out(endpoint), "secret": secret})


@router.get(
    "",
    response={200: WebhookList, 401: ErrorOut, 403: ErrorOut},
    summary="The endpoints, newest first",
)
def list_webhooks(request: HttpRequest):  # type: ignore[no-untyped-def]
    return {
        "webhooks": [_out(e) for e in services.endpoints(by=request.user, org=request.organisation)]
    }


@router.get(
    "/{webhook_id}",
    response={200: WebhookOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="One endpoint",
)
def get_webhook(  # type: ignore[no-untyped-def]
    request: HttpRequest, webhook_id: int = Path(..., ge=1, le=MAX_ID)
):
    return _out(
        services.get_endpoint(by=request.user, org=request.organisation, endpoint_id=webhook_id)
    )


@router.delete(
    "/{webhook_id}",
    response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Delete an endpoint (what waits for it is not sent)",
)
def delete_webhook(  # type: ignore[no-untyped-def]
    request: HttpRequest, webhook_id: int = Path(..., ge=1, le=MAX_ID)
):
    services.delete_endpoint(by=request.user, org=request.organisation, endpoint_id=webhook_id)
    return Status(204, None)
