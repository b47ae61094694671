"""The notices of new SMS: every page of a logged-in user asks, every few seconds
(core/static/core/smsdesk.js), which inbound messages arrived since the last one it saw.

Each question reads the primary key's end and the rows added since the last question,
and it writes nothing: a notice never marks a message read. Message ids grow with time, so
"after id N" is the new ones. The page's mark moves to the newest message of any kind, not
the newest inbound one: during a big send, the next question reads only what was added
since, not every outbound row since the last SMS received. On PostgreSQL a message whose
transaction commits after a later one's may be skipped by a notice (never by the lists):
notices are a courtesy, the unread list is the record."""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from smsdesk.core import tenancy
from smsdesk.messaging.models import Message

MAX_NOTICES = 3  # more at once are summed up as one count
PREVIEW_CHARS = 80


def newest_id(*, org: Any = None) -> int:
    """Where the next question starts: the newest message of any kind now (0 if none); one
    step to the end of the primary key's index. A position in the table, shared by every
    organisation (what is read from it is `org`'s only, `inbound_between`)."""
    return Message.objects.across_orgs().aggregate(newest=Max("id"))["newest"] or 0


def inbound_between(after_id: int, up_to_id: int, *, org: Any = None) -> list[Message]:
    """The newest inbound messages with an id in (`after_id`, `up_to_id`], newest first, at
    most MAX_NOTICES + 1 (one more says "and others"): a range of the primary key."""
    return list(
        Message.objects.for_org(tenancy.resolve(org))
        .filter(direction=Message.Direction.INBOUND, id__gt=after_id, id__lte=up_to_id)
        .order_by("-id")
        .only("id", "peer", "body", "created_at")[: MAX_NOTICES + 1]
    )
