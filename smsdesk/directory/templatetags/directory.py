"""Numbers as people read them, with the contact's name when there is one."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from smsdesk.core import hooks
from smsdesk.directory import services

register = template.Library()


@register.filter
def phone(number: str) -> str:
    """`+33612345678` → `06 12 34 56 78` (default region), `+44 7911 123456` otherwise."""
    return services.display(number or "")


def peer_label(number: str, name: str | None) -> SafeString:
    """The name (if a contact has this number) above the number."""
    if name:
        return format_html(
            # the name may be long (it wraps, even inside a word); the number does not
            '<span class="sd-name text-wrap text-break">{}</span> '
            '<span class="sd-number small text-secondary text-nowrap">{}</span>',
            name,
            services.display(number),
        )
    return format_html('<span class="sd-number">{}</span>', services.display(number))


def peer_link(number: str, name: str | None) -> SafeString:
    """A number (and its contact's name) linking to the page an app registered for numbers
    (messaging: the conversation, core/hooks.py); just the label when none did."""
    url = hooks.number_link(number)
    if url is None:
        return peer_label(number, name)
    return format_html('<a href="{}">{}</a>', url, peer_label(number, name))


@register.simple_tag
def peer(number: str, name: str | None = None, link: bool = True) -> SafeString:
    return peer_link(number, name) if link else peer_label(number, name)
