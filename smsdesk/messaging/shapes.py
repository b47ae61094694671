"""A message as the API shows it: one shape for the API's answers and the webhooks' `data`."""

from __future__ import annotations

from typing import Any

from smsdesk.messaging.models import Message

# What message_data reads: a Message, or a row of `.values(*FIELDS)` (the webhooks' batches)
FIELDS = (
    "id", "direction", "status", "peer", "body", "segments", "encoding", "created_at",
    "due_at", "sent_at", "status_at", "error", "campaign_id", "keyword", "gateway_id",
    "metadata",
)  # fmt: skip


def message_data(m: Message | Any) -> dict[str, Any]:
    outbound = m.direction == Message.Direction.OUTBOUND
    return {
        "id": m.id,
        "direction": m.direction,
        "status": m.status,
        "read": None if outbound else m.status == Message.Status.READ,
        "keyword": (m.keyword or None) if not outbound else None,  # stop / start, as stored
        # The line on the other side: outbound `from`, inbound `to` (issue 18).
        "to": m.peer if outbound else (m.gateway_id or None),
        "sender": (m.gateway_id or None) if outbound else m.peer,
        "line": m.gateway_id or None,
        "text": m.body,
        "segments": m.segments,
        "encoding": m.encoding,
        "created_at": m.created_at,
        "send_at": m.due_at if outbound else None,
        "sent_at": m.sent_at,
        "status_at": m.status_at,
        "error": m.error,
        "campaign_id": m.campaign_id,
        "metadata": m.metadata or {},
    }
