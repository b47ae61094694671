from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, WithJsonSchema

from smsdesk.core import metadata
from smsdesk.core.bounds import MAX_ID, moment
from smsdesk.messaging.models import Message

# Ids are 64-bit and moments inside the calendar once in UTC: anything else is refused with
# 422 here, never sent to the database (core/bounds.py).
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Moment = Annotated[datetime, AfterValidator(moment)]


def _with_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "give the time with its offset or Z, e.g. 2026-12-01T09:30:00+01:00: a time "
            "without one could be read in the wrong zone"
        )
    return value


# A moment a client asks for (send_at): its offset is required, never guessed.
AwareMoment = Annotated[datetime, AfterValidator(_with_offset), AfterValidator(moment)]
__all__ = ["MAX_ID", "AwareMoment", "Moment", "RowId", "StrictIn"]


# `metadata` in a body: anything reaches the rule (core/metadata.py), which answers 400
# invalid_metadata naming the problem; the schema states the bounds.
MetadataIn = Annotated[Any, WithJsonSchema(metadata.SCHEMA)]
METADATA_HELP = metadata.SCHEMA["description"]
# The search by metadata of a list: `?metadata[key]=value`, OpenAPI's deepObject style (the
# strict middleware accepts `metadata[...]` for the operations that declare it).
METADATA_PARAM: dict[str, Any] = {
    "name": "metadata",
    "in": "query",
    "required": False,
    "style": "deepObject",
    "explode": True,
    "schema": {
        "type": "object",
        "maxProperties": metadata.MAX_KEYS,
        "additionalProperties": {"type": "string", "maxLength": metadata.MAX_VALUE},
    },
    "description": "only those whose metadata has each key with that exact value: "
    "`?metadata[order]=A-1042&metadata[crm]=77`",
}


class StrictIn(Schema):
    """An input body: a field it does not declare is refused (400 `unknown_field`), never
    dropped silently (a client's typo, `"sendat"`, would otherwise send at once)."""

    model_config = ConfigDict(extra="forbid")


class RepeatIn(StrictIn):
    every: str = Field(..., max_length=10, description="day, week or month")
    on: list[str] | None = Field(None, max_length=7, description='week: days, e.g. ["mon", "thu"]')
    day: int | str | None = Field(
        None, description="month: a day of the month (1-31) or last-DAY, e.g. last-fri"
    )
    at: str = Field(..., max_length=10, description="local time, HH:MM")
    until: str | None = Field(None, max_length=10, description="last date, YYYY-MM-DD")
    times: int | None = Field(None, ge=1, le=10_000, description="how many occurrences")


class RecurrenceOut(Schema):
    id: int
    repeat: dict
    next_at: datetime | None
    paused: bool
    text: str
    time_zone: str


class SendIn(StrictIn):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    to: list[str] = Field(
        default_factory=list,
        max_length=settings.SMSDESK_MAX_RECIPIENTS,
        description="Recipients, E.164 or national format (default region FR); at most "
        "SMSDESK_MAX_RECIPIENTS (100,000 by default)",
    )
    contacts: list[RowId] = Field(
        default_factory=list, max_length=100_000, description="contact ids"
    )
    groups: list[RowId] = Field(default_factory=list, max_length=1000, description="group ids")
    text: str = Field(
        ...,
        max_length=5000,
        description="sent as written; with personalise, fields {prénom} or {prénom|default} "
        "are read (README, Personalised texts)",
    )
    personalise: bool = Field(
        False,
        description="read the fields of the text for each recipient; false: literal text, "
        "braces included",
    )
    send_at: AwareMoment | None = Field(
        None, description="ISO 8601 with its offset or Z (refused without); omitted: send now"
    )
    commercial: bool = Field(
        False,
        description="advertising: the opt-out mention is added and it waits for the allowed "
        "hours (README, Commercial SMS)",
    )
    tag: str = Field("", max_length=50, description="a free label to find the campaign again")
    sender: str = Field(
        "",
        alias="from",
        max_length=50,
        description="the line to send through: a line's name (SMSDESK_GATEWAYS) or its sender "
        "name or number; omitted: each recipient's line by the routing (the line they last "
        "wrote to, else the highest-priority line that can send: docs/gateways.md, Routing)",
    )
    gateway: str = Field(
        "",
        max_length=50,
        description="the former name of `from` (a line's name), kept as its alias; give one "
        "of the two, or the same value in both",
    )
    repeat: RepeatIn | None = Field(
        None,
        description="a recurring send instead of one send (README, Recurring sends): each "
        "occurrence is a campaign, to the recipients as they are that day",
    )
    smart_encoding: bool = Field(
        False,
        description="replace typographic characters (’ ‘ « » “ ” – — … non-breaking spaces) by "
        "their GSM look-alikes, so that such a text stays GSM-7 (160 characters an SMS); the "
        "text stored and returned is the text sent (README, Typographic characters)",
    )
    flash: bool = Field(
        False,
        description="a flash SMS (class 0: shown at once, not stored by the phone); refused "
        "(400 flash_unsupported) when the line cannot send one (docs/gateways.md, Flash SMS)",
    )
    metadata: MetadataIn = Field(None, description=METADATA_HELP)


class MessageOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    direction: Message.Direction
    status: Message.Status = Field(
        ...,
        description="outbound: scheduled, queued, sending, sent, delivered, failed, blocked, "
        "cancelled, unknown; inbound: unread or read (also in `read`)",
    )
    read: bool | None = Field(None, description="inbound: read yet; outbound: null")
    keyword: str | None = Field(
        None, description="inbound: `stop` or `start` when the SMS is an opt-out or opt-in"
    )
    to: str | None = Field(
        None, description="outbound: the recipient; inbound: the line it reached (its name)"
    )
    sender: str | None = Field(
        None,
        alias="from",
        description="inbound: the correspondent; outbound: the line it leaves by (its name)",
    )
    line: str | None = Field(None, description="the line (gateway) of the message, both ways")
    text: str
    segments: int
    encoding: str
    created_at: datetime
    send_at: datetime | None
    sent_at: datetime | None
    status_at: datetime | None
    error: str
    campaign_id: int | None
    metadata: dict[str, str] = Field(default_factory=dict, description=METADATA_HELP)


class CreatedOut(Schema):
    campaign_id: int | None = Field(..., description="null for a recurring send")
    messages: list[MessageOut]
    recurrence: RecurrenceOut | None = Field(None, description="the recurring send created")


# Lists count without scanning (core/lists.py): exactly up to 1,000 rows, beyond an estimate.
COUNT_HELP = (
    "how many match: exact when count_exact is true; otherwise about that many "
    "(PostgreSQL's estimate) or, on SQLite, more than that many"
)
COUNT_EXACT_HELP = "false when there are more than 1,000 and count is an estimate or a floor"
NEXT_CURSOR_HELP = (
    "pass it as `before` for the next page (as `after` when walking forwards); null on the "
    "last page"
)


class MessagePage(Schema):
    count: int = Field(..., description=COUNT_HELP)
    count_exact: bool = Field(..., description=COUNT_EXACT_HELP)
    next_cursor: int | None = Field(..., description=NEXT_CURSOR_HELP)
    messages: list[MessageOut]


class ErrorOut(Schema):
    code: str
    field: str | None
    message: str
    detail: list[dict] | None = None
