"""/api/v1/optouts: the STOP list through the same services as the page and the command."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from smsdesk.api import paging
from smsdesk.api.schemas import (
    COUNT_EXACT_HELP,
    COUNT_HELP,
    MAX_ID,
    NEXT_CURSOR_HELP,
    ErrorOut,
    StrictIn,
)
from smsdesk.core.lists import api_count
from smsdesk.directory import errors as directory_errors
from smsdesk.directory import imports
from smsdesk.directory import services as directory
from smsdesk.optout import services
from smsdesk.optout.models import OptOut, OptOutEvent, Source

router = Router(tags=["optouts"])


class OptOutIn(StrictIn):
    number: str = Field(..., max_length=64, description="E.164 or national format")
    reason: str = Field("", max_length=services.MAX_REASON)
    never: bool = Field(
        False, description="never text: a START from the number does not take it off"
    )


class OptOutOut(Schema):
    number: str
    created_at: datetime
    source: str
    by: str | None
    message: str
    never: bool = Field(False, description="never text (an administrator's decision)")


class OptOutPage(Schema):
    count: int = Field(..., description=COUNT_HELP)
    count_exact: bool = Field(..., description=COUNT_EXACT_HELP)
    next_cursor: int | None = Field(..., description=NEXT_CURSOR_HELP)
    optouts: list[OptOutOut]


class RemovedOut(Schema):
    number: str
    removed_at: datetime
    reason: str


def _out(o: OptOut) -> dict:
    return {
        "number": o.number,
        "created_at": o.created_at,
        "source": o.source,
        "by": o.by.get_username() if o.by else None,
        "message": o.keyword,
        "never": o.never,
    }


@router.get(
    "",
    response={200: OptOutPage, 401: ErrorOut, 422: ErrorOut},
    summary="The STOP list, newest first; page with `before` = the previous next_cursor",
)
def list_optouts(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    q: str = Query(
        "", max_length=100, description="a number in any format, part of one, or a contact's name"
    ),
    before: int | None = Query(None, ge=1, le=MAX_ID, description=paging.CURSOR_HELP),
    limit: int = Query(50, ge=1, le=500),
):
    qs = OptOut.objects.for_org(request.organisation).select_related("by")
    if q:
        qs = qs.filter(
            directory.number_search(q, "number", org=request.organisation)
        )  # the same search as the page
    counted = api_count(qs)
    rows, next_cursor = paging.cursor_page(
        qs,
        scope=OptOut.objects.for_org(request.organisation),
        time_field="created_at",
        limit=limit,
        before=before,
    )
    return {**counted, "next_cursor": next_cursor, "optouts": [_out(o) for o in rows]}


@router.post(
    "",
    response={
        201: OptOutOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Put a number on the STOP list (administrators)",
)
def add_optout(request: HttpRequest, payload: OptOutIn):  # type: ignore[no-untyped-def]
    entry = services.add_number(
        payload.number,
        by=request.user,
        org=request.organisation,
        source=Source.API,
        reason=payload.reason,
        never=payload.never,
    )
    return Status(201, _out(entry))


class ImportRejectedOut(Schema):
    line: int
    reason: str
    text: str = Field(..., description="the start of the line, to find it")


class ImportOut(Schema):
    added: int = Field(..., description="numbers put on the list (would be, in a dry run)")
    already: int = Field(..., description="numbers of the file already on the list")
    rejected: list[ImportRejectedOut] = Field(..., description="lines without a valid number")
    duplicates: int = Field(..., description="lines repeating a number of an earlier line")
    dry_run: bool


_IMPORT_BODY = {
    "required": True,
    "description": "The CSV file of numbers (read as the contact import reads one: encoding, "
    "separator, header, a number column), as the body (text/csv, up to "
    "SMSDESK_MAX_REQUEST_BYTES) or as the `file` field of a multipart form (up to "
    "SMSDESK_IMPORT_MAX_BYTES).",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


def _import_data(request: HttpRequest) -> bytes:
    if (request.content_type or "") == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise directory_errors.ImportRefused(_("Send the CSV file as the field “file”."))
        if (upload.size or 0) > imports.max_bytes():
            raise imports.too_big(upload.size or 0)
        return bytes(upload.read())
    data = bytes(request.body)
    if len(data) > imports.max_bytes():
        raise imports.too_big(len(data))
    return data


@router.post(
    "/import",
    response={
        200: ImportOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    summary="Import a CSV file of numbers into the STOP list (administrators)",
    openapi_extra={"requestBody": _IMPORT_BODY},
)
def import_optouts(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    reason: str = Query(
        "", max_length=services.MAX_REASON, description="why, kept in each number's history"
    ),
    dry_run: bool = Query(False, description="read and count, change nothing"),
):
    """Each number of the file goes on the list with the source `import` (its history line,
    what waits for it blocked at once), in one transaction; numbers already on it are left
    as they are; the lines without a valid number are listed with their line and why."""
    data = _import_data(request)
    if dry_run:
        services.check_admin(request.user)
        services.check_import_reason(reason)
        plan = services.plan_import(data, org=request.organisation)
    else:
        plan = services.import_numbers(
            data, by=request.user, reason=reason, org=request.organisation
        )
    return {
        "added": len(plan.new),
        "already": len(plan.already),
        "rejected": [
            {"line": r.line, "reason": r.reason, "text": r.text} for r in plan.file.rejected
        ],
        "duplicates": len(plan.file.duplicates),
        "dry_run": dry_run,
    }


@router.delete(
    "/{number}",
    response={
        200: RemovedOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        422: ErrorOut,
    },
    summary="Take a number off the STOP list, with the reason (administrators)",
)
def remove_optout(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    number: str,
    reason: str = Query(..., max_length=services.MAX_REASON, description="why, kept"),
):
    event: OptOutEvent = services.remove_number(
        number, by=request.user, org=request.organisation, source=Source.API, reason=reason
    )
    return {"number": event.number, "removed_at": event.at, "reason": event.reason}
