"""Messaging's own tags, for any app's templates: `{% load messaging %}`."""

from __future__ import annotations

from django import template

from smsdesk.messaging import links
from smsdesk.messaging.models import STATUS_COLOURS, Message

register = template.Library()

HISTORY = 10  # messages shown beside a contact


@register.filter
def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


@register.simple_tag
def conversation_url(number: str) -> str:
    return links.conversation_url(number)


@register.inclusion_tag("messaging/_history.html")
def history(number: str, org: int) -> dict:
    """The last messages of organisation `org` (id) with `number`, newest first (a
    contact's page)."""
    mine = Message.objects.for_org(org)
    messages = mine.filter(peer=number).order_by("-created_at", "-id")[:HISTORY]
    return {"history": list(messages)}
