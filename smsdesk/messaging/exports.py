"""The Sent and Received lists as CSV files (their Export button, `smsdesk messages export`).

Same rows as the page: the list's filter (`filters.message_list`: the direction, the search
box), from `since` on, newest first. Streamed: rows are read `CHUNK` at a time by keyset
(`core.lists.keyset_chunks` on the `msg_list` index: each chunk is an index range after the
last row of the one before, no OFFSET, no server-side cursor held open across the response)
and written by `core.spreadsheet.chunks` (formula-safe cells), so a million rows never sit in
memory together (bench/export.py measures it). A number is shown as people read it and with
its contact's name (one subquery per chunk, the lists' `with_names`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import spreadsheet
from smsdesk.core.lists import Order, keyset_chunks
from smsdesk.directory import services as directory
from smsdesk.messaging import errors, filters
from smsdesk.messaging.models import Message

CHUNK = 2000
NEWEST_FIRST = Order("-date", ("created_at", "id"), True)
DIRECTIONS = tuple(Message.Direction.values)


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise errors.BadExport(
            _("The direction must be “out” (sent SMS) or “in” (received SMS)."),
            field="direction",
        )
    return direction


def filename(direction: str, now: datetime | None = None) -> str:
    day = timezone.localdate(now or timezone.now()).isoformat()
    kind = "sent" if direction == Message.Direction.OUTBOUND else "received"
    return f"sms-{kind}-{day}.csv"


def _local(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def header(direction: str) -> list[str]:
    if direction == Message.Direction.OUTBOUND:
        return [
            _("Date"),
            _("Number"),
            _("Name"),
            _("Text"),
            _("SMS parts"),
            _("Status"),
            _("Reason"),
            _("Sent"),
            _("Status changed"),
            _("Tag"),
            _("Author"),
            _("Gateway"),
        ]
    return [_("Date"), _("Number"), _("Name"), _("Text"), _("SMS parts"), _("Status"), _("Gateway")]


FIELDS = (
    "peer",
    "contact_name",
    "body",
    "segments",
    "status",
    "error",
    "sent_at",
    "status_at",
    "campaign__tag",
    "author__username",
    "gateway_id",
)


def rows(
    *,
    direction: str,
    search: str = "",
    since: date | datetime | None = None,
    status: str | None = None,
    org: Any = None,
) -> Iterator[list[str]]:
    """The export's rows of organisation `org` (without the header), read by keyset chunks:
    those the list shows with the same search, status and period (`since`: a day, or the
    moment a period of the list starts)."""
    check_direction(direction)
    if since is not None and not isinstance(since, datetime):
        since = timezone.make_aware(datetime.combine(since, time.min))
    qs = filters.message_list(
        org=org, direction=direction, search=search, status=status, since=since
    )
    labels = dict(Message.Status.choices)
    outbound = direction == Message.Direction.OUTBOUND
    shown: dict[str, str] = {}  # each number formatted once
    for chunk in keyset_chunks(qs, NEWEST_FIRST, size=CHUNK, values=FIELDS):
        for (
            created,
            _id,
            peer,
            name,
            body,
            parts,
            status,
            error,
            sent,
            changed,
            tag,
            by,
            gw,
        ) in chunk:
            number = shown.get(peer)
            if number is None:
                number = shown[peer] = directory.display(peer) if peer[:1] == "+" else peer
                if len(shown) > 50_000:  # a bound, whatever the export's size
                    shown.clear()
            if outbound:
                yield [
                    _local(created),
                    number,
                    name or "",
                    body,
                    str(parts),
                    str(labels.get(status, status)),
                    _(error) if error else "",
                    _local(sent),
                    _local(changed),
                    tag or "",
                    by or "",
                    gw or "",
                ]
            else:
                yield [
                    _local(created),
                    number,
                    name or "",
                    body,
                    str(parts),
                    str(labels.get(status, status)),
                    gw or "",
                ]


def csv_chunks(
    *,
    direction: str,
    search: str = "",
    since: date | datetime | None = None,
    status: str | None = None,
    org: Any = None,
) -> Iterator[str]:
    """The CSV file in pieces (a streaming response, or the command's output)."""
    check_direction(direction)
    audit.record(
        Action.EXPORT,
        ("messages", direction),
        after={"search": search, "since": since},
        label=f"messages {direction}",
    )
    return spreadsheet.chunks(
        header(direction),
        rows(direction=direction, search=search, since=since, status=status, org=org),
    )
