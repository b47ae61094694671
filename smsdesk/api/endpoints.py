"""REST API v1: the same services as the web pages, behind bearer tokens."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Path, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from smsdesk.accounts import services as accounts
from smsdesk.api import calls as calls_api
from smsdesk.api import campaigns as campaigns_api
from smsdesk.api import directory as directory_api
from smsdesk.api import optout as optout_api
from smsdesk.api import stats as stats_api
from smsdesk.api.automation import recurrence_out
from smsdesk.api.automation import router as automation_router
from smsdesk.api.schemas import (
    MAX_ID,
    CreatedOut,
    ErrorOut,
    MessageOut,
    MessagePage,
    SendIn,
)
from smsdesk.core.errors import ServiceError
from smsdesk.core.lists import api_count
from smsdesk.directory.services import Targets
from smsdesk.messaging import actions, errors, filters, recurring, sending
from smsdesk.messaging.models import Message


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
        user = accounts.user_for_token(token)
        if user is not None:
            request.user = user
        return user


def staff_or_token(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The docs and the OpenAPI schema: for a logged-in user, or a program with a token."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            header = request.headers.get("Authorization", "")
            scheme, _sep, raw = header.partition(" ")
            user = accounts.user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                if header:
                    return _error(request, 401, "unauthorized", UNAUTHORIZED)
                return redirect_to_login(request.get_full_path())
            request.user = user
        return view(request, *args, **kwargs)

    return wrapper


UNAUTHORIZED = "A valid API token is required: Authorization: Bearer <token>."

_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
_UNAVAILABLE = {
    "description": "The disk is full or the database cannot be used: nothing was saved, "
    "send the same request again later (disk_full, database_busy, database_unavailable)",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    "content": _ERROR_BODY,
}


class SmsdeskAPI(NinjaAPI):
    """Declares in the schema the answers any operation may give outside its own code: 400
    `control_character` for a control character in a query parameter
    (core.middleware.QueryControlsMiddleware), and 503 with Retry-After when the disk is full
    or the database cannot be used (core/faults.py)."""

    def get_openapi_schema(self, **kwargs):  # type: ignore[no-untyped-def,override]
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation["responses"]
                if any(p["in"] == "query" for p in operation.get("parameters", [])):
                    responses.setdefault(
                        400, {"description": "Bad Request", "content": _ERROR_BODY}
                    )
                responses.setdefault(503, _UNAVAILABLE)
        return schema


api = SmsdeskAPI(
    title="smsdesk API",
    version="1",
    auth=TokenAuth(),
    urls_namespace="api",
    docs_decorator=staff_or_token,
    description="Send SMS and read the messages. Authorization: Bearer <token> "
    "(create one with `smsdesk createtoken USER` or on your account page).",
)


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    body = exc.as_dict()
    errors = getattr(exc, "errors", [exc])  # several refusals at once: each in the detail
    detail: list[dict] = []
    for error in errors:
        if len(errors) > 1:
            detail.append(error.as_dict())
        detail += [{"value": v, "reason": r} for v, r in getattr(error, "invalid", [])]
        # a personalised text: who lacks which field
        detail += [{"field": f, "to": n} for f, n in getattr(error, "missing", [])]
    if detail:
        body["detail"] = detail
    return api.create_response(request, body, status=exc.http_status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "payload", "query", "path")]
    field = ".".join(loc) or None
    # a refusal of our own (core/bounds.py) reads as its message, without pydantic's prefix
    reason = str(first.get("msg", "invalid input")).removeprefix("Value error, ")
    return api.create_response(
        request,
        {
            "code": "invalid_input",
            "field": field,
            "message": f"{field or 'request'}: {reason}",
            "detail": [
                {"field": ".".join(str(p) for p in e.get("loc", [])), "reason": e.get("msg")}
                for e in exc.errors
            ],
        },
        status=422,
    )


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "field": None, "message": message}, status=status
    )


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", UNAUTHORIZED)


# Every error in the documented shape ({code, field, message}), never Django's HTML page or
# django-ninja's {"detail": ...}.
@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(
        request,
        413,
        "too_large",
        f"The request body is larger than the limit of {limit:,} bytes.",
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # django-ninja could not parse the body
        return _error(request, 400, "bad_json", "The request body is not valid JSON.")
    return _error(request, exc.status_code, "error", str(exc))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@login_not_required
def unknown_path(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any address under /api/v1/ that no endpoint serves (`/optouts/..%2F..%2Fetc`): the
    JSON 404 too, never the web's HTML page."""
    return _error(request, 404, "not_found", "Not found.")


def _out(m: Message) -> dict:
    outbound = m.direction == Message.Direction.OUTBOUND
    return {
        "id": m.id,
        "direction": m.direction,
        "status": m.status,
        "to": m.peer if outbound else None,
        "sender": None if outbound else m.peer,
        "text": m.body,
        "segments": m.segments,
        "encoding": m.encoding,
        "created_at": m.created_at,
        "send_at": m.due_at if outbound else None,
        "sent_at": m.sent_at,
        "status_at": m.status_at,
        "error": m.error,
        "campaign_id": m.campaign_id,
    }


@api.post(
    "/messages",
    response={
        201: CreatedOut,
        400: ErrorOut,
        401: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    by_alias=True,
    summary="Send an SMS to numbers, contacts and groups, now or later",
)
def send(request: HttpRequest, payload: SendIn):  # type: ignore[no-untyped-def]
    targets = Targets(numbers=payload.to, contacts=payload.contacts, groups=payload.groups)
    if payload.repeat is not None:
        if payload.send_at is not None:
            raise errors.InvalidRepeat(
                _("A recurring send starts at its first occurrence: leave send_at out."),
                field="send_at",
            )
        rec = recurring.create_recurrence(
            author=request.user,
            body=payload.text,
            targets=targets,
            repeat=recurring.check_repeat(**payload.repeat.dict()),
            commercial=payload.commercial,
            tag=payload.tag,
            source="api",
        )
        return Status(
            201, {"campaign_id": None, "messages": [], "recurrence": recurrence_out(rec)}
        )
    campaign = sending.create_campaign(
        author=request.user,
        body=payload.text,
        targets=targets,
        send_at=payload.send_at,
        source="api",
        commercial=payload.commercial,
        tag=payload.tag,
        gateway=payload.gateway or None,
        smart_encoding=payload.smart_encoding,
    )
    return Status(
        201, {"campaign_id": campaign.id, "messages": [_out(m) for m in campaign.created_messages]}
    )


@api.get(
    "/messages/{message_id}",
    response={200: MessageOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    by_alias=True,
    summary="One message, with its current status",
)
def get_message(  # type: ignore[no-untyped-def]
    request: HttpRequest, message_id: int = Path(..., ge=1, le=MAX_ID)
):
    return _out(actions.get_message(message_id))


@api.get(
    "/messages",
    response={200: MessagePage, 401: ErrorOut, 422: ErrorOut},
    by_alias=True,
    summary="Messages, newest first; page with `before` = the previous next_cursor",
)
def list_messages(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    direction: Message.Direction | None = None,
    status: Message.Status | None = None,
    q: str = Query("", max_length=100),
    before: int | None = Query(
        None, ge=1, le=MAX_ID, description="only messages with a smaller id"
    ),
    limit: int = Query(50, ge=1, le=500),
):
    qs = filters.message_list(direction=direction, status=status, search=q).order_by("-id")
    counted = api_count(qs)
    if before is not None:
        qs = qs.filter(id__lt=before)  # keyset on the primary key: no OFFSET
    rows = list(qs[: limit + 1])
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return {
        **counted,
        "next_cursor": next_cursor,
        "messages": [_out(m) for m in rows[:limit]],
    }


# The STOP list and the call log have their own routers, beside their apps.
api.add_router("/optouts", optout_api.router)
api.add_router("/calls", calls_api.router)
# Contacts and groups (/contacts, /groups), beside the other routers of this package.
api.add_router("/", directory_api.router)
api.add_router("/campaigns", campaigns_api.router)
api.add_router("/stats", stats_api.router)
# Recurring sends and keyword auto-replies (/recurring, /autoreplies).
api.add_router("/", automation_router)
