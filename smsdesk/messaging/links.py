"""The one way to link to a conversation from a phone number or a sender's name."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse


def conversation_url(number: str) -> str:
    """The conversation with `number`, whatever its characters (a stranger's "A/B", "../"):
    the number goes in the query string, encoded, and the page redirects to the
    conversation by its id. Never a number in a URL path."""
    return f"{reverse('messaging:conversation_with')}?{urlencode({'number': number})}"
