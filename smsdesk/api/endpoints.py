"""REST API v1: the same services as the web pages, behind bearer tokens."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, NinjaAPI, Path, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from smsdesk.accounts import services as accounts
from smsdesk.accounts import tokens
from smsdesk.accounts.models import Scope
from smsdesk.api import audit as audit_api
from smsdesk.api import calls as calls_api
from smsdesk.api import campaigns as campaigns_api
from smsdesk.api import directory as directory_api
from smsdesk.api import optout as optout_api
from smsdesk.api import paging
from smsdesk.api import stats as stats_api
from smsdesk.api import webhooks as webhooks_api
from smsdesk.api.automation import recurrence_out
from smsdesk.api.automation import router as automation_router
from smsdesk.api.schemas import (
    MAX_ID,
    METADATA_PARAM,
    CreatedOut,
    ErrorOut,
    MessageOut,
    MessagePage,
    Moment,
    SendIn,
)
from smsdesk.audit import context as audit_context
from smsdesk.core import metadata
from smsdesk.core.errors import ServiceError
from smsdesk.core.lists import api_count
from smsdesk.directory.services import Targets
from smsdesk.messaging import actions, errors, filters, recurring, routing, sending, shapes
from smsdesk.messaging.models import Message

# The scope each area of the API needs: (to read, to change). A path whose first segment is
# not here needs a scope no token has (test_scopes checks every path of the schema is here).
SCOPES: dict[str, tuple[str, str]] = {
    "messages": (Scope.MESSAGES_READ, Scope.MESSAGES_SEND),
    "conversations": (Scope.MESSAGES_READ, Scope.MESSAGES_READ),
    "campaigns": (Scope.MESSAGES_READ, Scope.MESSAGES_SEND),
    "calls": (Scope.MESSAGES_READ, Scope.MESSAGES_READ),
    "optouts": (Scope.MESSAGES_READ, Scope.OPTOUTS_WRITE),
    "contacts": (Scope.CONTACTS_READ, Scope.CONTACTS_WRITE),
    "groups": (Scope.CONTACTS_READ, Scope.CONTACTS_WRITE),
    "webhooks": (Scope.WEBHOOKS_ADMIN, Scope.WEBHOOKS_ADMIN),
    "stats": (Scope.MESSAGES_READ, Scope.MESSAGES_READ),
    "recurring": (Scope.MESSAGES_READ, Scope.MESSAGES_SEND),
    "autoreplies": (Scope.MESSAGES_READ, Scope.MESSAGES_SEND),
    "audit": (Scope.AUDIT_READ, Scope.AUDIT_READ),
}


def scope_for(method: str, path: str) -> str:
    area = path.removeprefix("/api/v1/").split("/", 1)[0]
    read, write = SCOPES.get(area, ("-", "-"))
    return read if method in ("GET", "HEAD") else write


class RateLimited(Exception):
    def __init__(self, rate: tokens.Rate) -> None:
        self.rate = rate


class TooManyFailures(Exception):
    pass


class MissingScope(Exception):
    def __init__(self, scope: str) -> None:
        self.scope = scope


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
        address = request.META.get("REMOTE_ADDR") or None
        found = tokens.find(token)
        if found is None:
            if tokens.refused(address):
                raise TooManyFailures()
            return None
        rate = tokens.count(found, address=address)
        request.rate = rate  # type: ignore[attr-defined]
        if rate.exceeded:
            raise RateLimited(rate)
        scope = scope_for(request.method or "GET", request.path_info)
        if scope not in found.granted():
            raise MissingScope(scope)
        # The token's organisation is the request's: every endpoint reads and writes that
        # organisation's data only.
        request.user = found.user
        audit_context.bind(actor=found.user, via=audit_context.API, token=found.prefix)
        request.organisation = found.organisation  # type: ignore[attr-defined]
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


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


UNAUTHORIZED = gettext_lazy("A valid API token is required: Authorization: Bearer <token>.")

_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
_UNAVAILABLE = {
    "description": "The disk is full or the database cannot be used: nothing was saved, "
    "send the same request again later (disk_full, database_busy, database_unavailable)",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    "content": _ERROR_BODY,
}


_RATE_HEADERS = {
    "RateLimit-Limit": {
        "schema": {"type": "integer"},
        "description": "requests per second (recipients per day on recipient_limit_exceeded)",
    },
    "RateLimit-Remaining": {"schema": {"type": "integer"}},
    "RateLimit-Reset": {"schema": {"type": "integer"}, "description": "seconds"},
}
_COMMON: dict[int, dict] = {
    400: {
        "description": "Bad Request: an unknown field or query parameter, named",
        "content": _ERROR_BODY,
    },
    401: {"description": "No valid token", "content": _ERROR_BODY},
    403: {
        "description": "The token lacks the scope this operation needs (missing_scope), "
        "or the user's role does not allow it",
        "content": _ERROR_BODY,
    },
    405: {"description": "Method not allowed", "content": _ERROR_BODY},
    413: {"description": "The body is too large", "content": _ERROR_BODY},
    415: {
        "description": "The body is not in a media type the operation reads",
        "content": _ERROR_BODY,
    },
    422: {
        "description": "Invalid input, or an Idempotency-Key used for another request",
        "content": _ERROR_BODY,
    },
    429: {
        "description": "Too many requests for this token (SMSDESK_API_RATE per second, "
        "rate_limited), or a send over a limit of the organisation or the token: SMS parts "
        "per day or month (quota_exceeded), recipients per day (recipient_limit_exceeded; "
        "then the RateLimit-* headers are that limit's and Retry-After is the next local "
        "midnight). Nothing was stored.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}, **_RATE_HEADERS},
        "content": _ERROR_BODY,
    },
    500: {"description": "Server error", "content": _ERROR_BODY},
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "the same key and request within 24 hours answer the first answer "
    "again and create nothing",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


class SmsdeskAPI(NinjaAPI):
    """Declares in the schema the answers any operation may give outside its own code: the
    strict checks (api/middleware.py: 400, 405, 415), the token's (401, 403, 429), 413, 500,
    and 503 with Retry-After when the disk is full or the database cannot be used
    (core/faults.py); the Idempotency-Key header of every POST; readable operation ids (the
    view's name: `send_message`, not `smsdesk_api_endpoints_send`)."""

    def get_openapi_operation_id(self, operation):  # type: ignore[no-untyped-def]
        return operation.view_func.__name__

    def get_openapi_schema(self, **kwargs):  # type: ignore[no-untyped-def,override]
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation["responses"]
                for code, answer in _COMMON.items():
                    responses.setdefault(code, answer)
                responses.setdefault(503, _UNAVAILABLE)
                if method == "post":
                    operation.setdefault("parameters", []).append(_IDEMPOTENCY)
        return schema

    def create_response(self, request, data, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        response = super().create_response(request, data, *args, **kwargs)
        rate = getattr(request, "rate", None)
        if rate is not None and rate.limit:
            response["RateLimit-Limit"] = str(rate.limit)
            response["RateLimit-Remaining"] = str(max(0, rate.remaining))
            response["RateLimit-Reset"] = str(rate.reset)
        return response


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
    response = api.create_response(request, body, status=exc.http_status)
    if (wait := getattr(exc, "retry_after", None)) is not None:  # a quota: when it renews
        response["Retry-After"] = str(wait)
        if (limit := getattr(exc, "limit", None)) is not None:  # recipients per day
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(max(0, exc.remaining or 0))  # type: ignore[attr-defined]
            response["RateLimit-Reset"] = str(wait)
    return response


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    unknown = [
        ".".join(str(p) for p in e.get("loc", []) if p not in ("body", "payload"))
        for e in exc.errors
        if e.get("type") == "extra_forbidden"
    ]
    if unknown:
        return api.create_response(
            request,
            {
                "code": "unknown_field",
                "field": unknown[0],
                "message": _("Unknown fields: %(names)s.")
                % {"names": ", ".join(n[:60] for n in unknown[:10])},
                "detail": [{"field": n[:60], "reason": "unknown"} for n in unknown[:10]],
            },
            status=400,
        )
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
        request, {"code": code, "field": None, "message": str(message)}, status=status
    )


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _error(
        request,
        429,
        "rate_limited",
        _("More than %(n)d requests per second with this token: wait, then send it again.")
        % {"n": exc.rate.limit},
    )
    response["Retry-After"] = str(exc.rate.reset)
    return response


@api.exception_handler(TooManyFailures)
def too_many_failures(request: HttpRequest, exc: TooManyFailures) -> HttpResponse:
    response = _error(
        request,
        429,
        "too_many_failures",
        _("Too many invalid tokens from this address: wait a minute."),
    )
    response["Retry-After"] = "60"
    return response


@api.exception_handler(MissingScope)
def missing_scope(request: HttpRequest, exc: MissingScope) -> HttpResponse:
    return _error(
        request,
        403,
        "missing_scope",
        _("This token does not have the scope %(scope)s that this operation needs.")
        % {"scope": exc.scope},
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
        _("The request body is larger than the limit of %(limit)s bytes.")
        % {"limit": f"{limit:,}"},
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # django-ninja could not parse the body
        return _error(request, 400, "bad_json", _("The request body is not valid JSON."))
    return _error(request, exc.status_code, "error", str(exc))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@login_not_required
def unknown_path(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any address under /api/v1/ that no endpoint serves (`/optouts/..%2F..%2Fetc`): the
    JSON 404 too, never the web's HTML page."""
    return _error(request, 404, "not_found", _("Not found."))


_out = shapes.message_data


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
    tags=["messages"],
)
def send_message(request: HttpRequest, payload: SendIn):  # type: ignore[no-untyped-def]
    targets = Targets(numbers=payload.to, contacts=payload.contacts, groups=payload.groups)
    if payload.repeat is not None:
        if payload.send_at is not None:
            raise errors.InvalidRepeat(
                _("A recurring send starts at its first occurrence: leave send_at out."),
                field="send_at",
            )
        rec = recurring.create_recurrence(
            author=request.user,
            org=request.organisation,
            body=payload.text,
            targets=targets,
            repeat=recurring.check_repeat(**payload.repeat.dict()),
            commercial=payload.commercial,
            tag=payload.tag,
            source="api",
            line=_line_asked(payload, request.organisation),
        )
        return Status(201, {"campaign_id": None, "messages": [], "recurrence": recurrence_out(rec)})
    campaign = sending.create_campaign_together(
        author=request.user,
        org=request.organisation,
        body=payload.text,
        targets=targets,
        send_at=payload.send_at,
        source="api",
        commercial=payload.commercial,
        tag=payload.tag,
        gateway=_line_asked(payload, request.organisation),
        smart_encoding=payload.smart_encoding,
        personalise_text=payload.personalise,
        flash=payload.flash,
        metadata=payload.metadata,
        token=getattr(request, "api_token", None),
    )
    return Status(
        201, {"campaign_id": campaign.id, "messages": [_out(m) for m in campaign.created_rows]}
    )


def _line_asked(payload: SendIn, org: Any) -> str | None:
    """`from`, or its older name `gateway`; both given must agree."""
    line, alias = payload.sender.strip(), payload.gateway.strip()
    if line and alias and line != alias:
        raise errors.UnknownGateway(
            _("Give the line in “from” only (“gateway” is its older name), or the same in both."),
            field="from",
        )
    if line or alias:  # refused beside the field the client used
        return routing.resolve(line or alias, field="from" if line else "gateway", org=org)
    return None


@api.get(
    "/messages/{message_id}",
    response={200: MessageOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    by_alias=True,
    summary="One message, with its current status",
    tags=["messages"],
)
def get_message(  # type: ignore[no-untyped-def]
    request: HttpRequest, message_id: int = Path(..., ge=1, le=MAX_ID)
):
    return _out(actions.get_message(message_id, org=request.organisation))


@api.get(
    "/messages",
    response={200: MessagePage, 401: ErrorOut, 422: ErrorOut},
    by_alias=True,
    summary="Messages, newest first (`before` pages back); oldest first from `after` "
    "(pages forwards); only newer than `since_id`",
    tags=["messages"],
    openapi_extra={"parameters": [METADATA_PARAM]},
)
def list_messages(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    direction: Message.Direction | None = None,
    status: Message.Status | None = None,
    q: str = Query("", max_length=100),
    before: int | None = Query(
        None,
        ge=1,
        le=MAX_ID,
        description="the previous page's next_cursor: the messages after that one, newest "
        "first by created_at then id (an id that is none of yours: a smaller id)",
    ),
    after: int | None = Query(
        None,
        ge=0,
        le=MAX_ID,
        description="walk forwards, oldest first by created_at then id, from the message "
        "with this id (0: from the oldest); next_cursor is then the `after` of the next page",
    ),
    since_id: int | None = Query(
        None, ge=0, le=MAX_ID, description="only messages with a greater id (newest first)"
    ),
    created_since: Moment | None = Query(None, description="ISO 8601, created at or after"),  # noqa: B008
    created_until: Moment | None = Query(None, description="ISO 8601, created before"),  # noqa: B008
    gateway: str = Query("", max_length=50, description="the line (gateway) name"),
    tag: str = Query("", max_length=50, description="the campaign's tag"),
    limit: int = Query(50, ge=1, le=500),
):
    qs = filters.message_list(
        org=request.organisation, direction=direction, status=status, search=q
    )
    if since_id is not None:
        qs = qs.filter(id__gt=since_id)
    if created_since is not None:
        qs = qs.filter(created_at__gte=created_since)
    if created_until is not None:
        qs = qs.filter(created_at__lt=created_until)
    if gateway:
        qs = qs.filter(gateway_id=gateway)
    if tag:
        qs = qs.filter(campaign__tag=tag)
    qs = metadata.matching(qs, metadata.wanted(request.GET))
    counted = api_count(qs)
    rows, next_cursor = paging.cursor_page(
        qs,
        scope=Message.objects.for_org(request.organisation),
        time_field="created_at",
        limit=limit,
        before=before,
        after=after,
    )
    return {
        **counted,
        "next_cursor": next_cursor,
        "messages": [_out(m) for m in rows],
    }


@api.post(
    "/messages/{message_id}/cancel",
    response={200: MessageOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    by_alias=True,
    summary="Cancel a message not handed to a gateway yet (409 when it is on its way)",
    tags=["messages"],
)
def cancel_message(  # type: ignore[no-untyped-def]
    request: HttpRequest, message_id: int = Path(..., ge=1, le=MAX_ID)
):
    org = request.organisation  # type: ignore[attr-defined]
    actions.get_message(message_id, org=org)  # 404 first (another organisation's too)
    return _out(actions.cancel_message(message_id, by=request.user, org=org))


class ReadOut(Schema):
    read: int = Field(..., description="how many messages were unread")


@api.post(
    "/conversations/{conversation_id}/read",
    response={200: ReadOut, 401: ErrorOut, 404: ErrorOut},
    summary="Mark a conversation's received messages read",
    tags=["messages"],
)
def read_conversation(  # type: ignore[no-untyped-def]
    request: HttpRequest, conversation_id: int = Path(..., ge=1, le=MAX_ID)
):
    return {"read": actions.read_conversation(conversation_id, org=request.organisation)}


# The STOP list and the call log have their own routers, beside their apps.
api.add_router("/optouts", optout_api.router)
api.add_router("/calls", calls_api.router)
# Contacts and groups (/contacts, /groups), beside the other routers of this package.
api.add_router("/", directory_api.router)
api.add_router("/campaigns", campaigns_api.router)
api.add_router("/stats", stats_api.router)
# Recurring sends and keyword auto-replies (/recurring, /autoreplies).
api.add_router("/", automation_router)
api.add_router("/webhooks", webhooks_api.router)
api.add_router("/audit", audit_api.router)
