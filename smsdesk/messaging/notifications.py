"""The notices of new SMS: every page of a logged-in user asks, every few seconds
(core/static/core/smsdesk.js), which inbound messages arrived since the last one it saw.

Each question is one query on an index (the primary key, or `msg_list` for the very first
one) and it writes nothing: a notice never marks a message read. Message ids grow with
time, so "after id N" is the new ones; on PostgreSQL a message whose transaction commits
after a later one's may be skipped by a notice (never by the lists): notices are a courtesy,
the unread list is the record."""

from __future__ import annotations

from smsdesk.messaging.models import Message

MAX_NOTICES = 3  # more at once are summed up as one count
PREVIEW_CHARS = 80


def newest_inbound_id() -> int:
    """Where a page starts counting: the newest inbound message now (0 if none)."""
    newest = (
        Message.objects.filter(direction=Message.Direction.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    return newest or 0


def inbound_after(after_id: int) -> list[Message]:
    """The newest inbound messages with an id above `after_id`, newest first, at most
    MAX_NOTICES + 1 (one more says "and others")."""
    return list(
        Message.objects.filter(direction=Message.Direction.INBOUND, id__gt=after_id)
        .order_by("-id")
        .only("id", "peer", "body", "created_at")[: MAX_NOTICES + 1]
    )
