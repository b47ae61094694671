"""How dates and message texts are shown on every page (the template filters `when` and
`linkify` in core/templatetags/smsdesk.py wrap these)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils.formats import date_format
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localdate, localtime
from django.utils.translation import gettext as _

# Only these two schemes ever become links: never javascript:, data:, vbscript:, file:...
# A URL ends at a space, at a character that HTML or a text around it uses (< > " ' ` and
# the "…" that truncation adds) and must have at least one character of host.
_URL = re.compile(r"""\bhttps?://[^\s<>"'`…/?#]+[^\s<>"'`…]*""", re.IGNORECASE)
_HOST = re.compile(r"https?://[^.,;:!?/]", re.IGNORECASE)
# punctuation that ends a sentence rather than the URL ("see http://x.fr/a.")
_TRAILING = ".,;:!?"
MAX_LINK = 2000  # a longer "URL" stays plain text


def absolute(value: datetime) -> str:
    """A date and time in the user's language, never relative: "25/11/2026 15:02" /
    "25 Nov 2026, 15:02" (for sentences such as "the date … is in the past")."""
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT")


def when(value: datetime, *, now: datetime | None = None) -> str:
    """A date and time in the user's language, the same format on every page:
    "aujourd’hui 15:02" / "today 15:02" (also yesterday and tomorrow), else
    "25/11/2026 15:02" / "25 Nov 2026, 15:02" (smsdesk/formats/)."""
    local = localtime(value)
    today = localtime(now).date() if now else localdate()
    time = date_format(local, "TIME_FORMAT")
    relative = {
        today: _("today %(time)s"),
        today - timedelta(days=1): _("yesterday %(time)s"),
        today + timedelta(days=1): _("tomorrow %(time)s"),
    }.get(local.date())
    if relative:
        return relative % {"time": time}
    return absolute(local)


def when_html(value: object, *, now: datetime | None = None) -> SafeString:
    """`when` in a <time> element that carries the exact instant and the full date on hover."""
    if not isinstance(value, datetime):  # any other cell of a list, as it would be shown
        text = value if isinstance(value, str) else "" if value is None else str(value)
        return conditional_escape(text)  # a SafeString (a link) stays as it is
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        localtime(value).isoformat(timespec="seconds"),
        absolute(value),
        when(value, now=now),
    )


def _split_trailing(url: str) -> tuple[str, str]:
    """ "http://x.fr/a)." -> ("http://x.fr/a", ")."), keeping a ")" that closes a "(" in it."""
    end = len(url)
    while end and (
        url[end - 1] in _TRAILING
        or (url[end - 1] == ")" and url.count("(", 0, end) < url.count(")", 0, end))
    ):
        end -= 1
    return url[:end], url[end:]


def linkify(text: str) -> SafeString:
    """The text, HTML-escaped, with its http(s) URLs as links that open in a new tab and
    pass nothing to the site (no opener, no referrer) nor vouch for it (nofollow).

    Every character of the text goes through `escape`: the URLs are found in the raw text
    and escaped like the rest, in the link text and in the href alike."""
    text = str(text)
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url, tail = _split_trailing(match.group())
        if len(url) > MAX_LINK or not _HOST.match(url):  # "http://." is no link
            continue
        out.append(escape(text[last : match.start()]))
        out.append(
            format_html(
                '<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>', url, url
            )
        )
        out.append(escape(tail))
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped
