"""Dates in one format per language, and message texts with safe, clickable links."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.safestring import mark_safe

from smsdesk.core.display import linkify, when, when_html

# 25 Nov 2026 at 14:02 UTC is 15:02 in Paris (the default zone)
NOW = datetime(2026, 11, 25, 14, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "value", "shown"),
    [
        ("fr", datetime(2026, 11, 20, 14, 2, tzinfo=UTC), "20/11/2026 15:02"),
        ("en", datetime(2026, 11, 20, 14, 2, tzinfo=UTC), "20 Nov 2026, 15:02"),
        ("en", datetime(2026, 11, 20, 2, 5, tzinfo=UTC), "20 Nov 2026, 03:05"),  # no "a.m."
        ("fr", datetime(2026, 11, 25, 8, 0, tzinfo=UTC), "aujourd’hui 09:00"),
        ("en", datetime(2026, 11, 25, 22, 59, tzinfo=UTC), "today 23:59"),
        ("fr", datetime(2026, 11, 24, 23, 30, tzinfo=UTC), "aujourd’hui 00:30"),  # Paris day
        ("fr", datetime(2026, 11, 24, 12, 0, tzinfo=UTC), "hier 13:00"),
        ("en", datetime(2026, 11, 26, 8, 0, tzinfo=UTC), "tomorrow 09:00"),
        ("fr", datetime(2099, 12, 24, 8, 0, tzinfo=UTC), "24/12/2099 09:00"),
    ],
)
def test_when_speaks_the_language_in_one_format(language: str, value: datetime, shown: str) -> None:
    with translation.override(language):
        assert when(value, now=NOW) == shown


def test_when_html_keeps_the_exact_instant_and_the_full_date() -> None:
    with translation.override("fr"):
        html = when_html(datetime(2026, 11, 25, 14, 2, tzinfo=UTC), now=NOW)
    assert html == (
        '<time datetime="2026-11-25T15:02:00+01:00" title="25/11/2026 15:02">'
        "aujourd’hui 15:02</time>"
    )
    assert when_html(None) == "" and when_html("<b>") == "&lt;b&gt;" and when_html(3) == "3"
    assert when_html(mark_safe("<b>ok</b>")) == "<b>ok</b>"  # a cell already made safe


def test_the_when_filter_is_what_templates_use() -> None:
    with translation.override("en"):
        html = Template("{% load smsdesk %}{{ d|when }}").render(
            Context({"d": datetime(2020, 1, 2, 3, 4, tzinfo=UTC)})
        )
    assert html.endswith(">2 Jan 2020, 04:04</time>")


LINK = '<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>'


@pytest.mark.parametrize(
    ("body", "html"),
    [
        (
            "see https://example.org/a?b=1&c=2.",
            "see " + LINK.format("https://example.org/a?b=1&amp;c=2") + ".",
        ),
        ("HTTP://EXAMPLE.ORG", LINK.format("HTTP://EXAMPLE.ORG")),
        ("(http://x.fr/a_(b))!", "(" + LINK.format("http://x.fr/a_(b)") + ")!"),
        ("http://x.fr/cours…", LINK.format("http://x.fr/cours") + "…"),
        (
            "two: http://a.fr http://b.fr",
            "two: " + LINK.format("http://a.fr") + " " + LINK.format("http://b.fr"),
        ),
        ("plain text <b>bold</b> & co", "plain text &lt;b&gt;bold&lt;/b&gt; &amp; co"),
        ("www.example.org and a@b.fr stay text", "www.example.org and a@b.fr stay text"),
        ("http:// and http://. and https://?q", "http:// and http://. and https://?q"),
    ],
)
def test_linkify_links_http_urls_only(body: str, html: str) -> None:
    assert linkify(body) == html


@pytest.mark.parametrize(
    "hostile",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        '<a href="javascript:alert(1)">clic</a>',
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        'http://x.fr/"onmouseover="alert(1)',
        "http://x.fr/'onmouseover='alert(1)",
        "http://x.fr/<script>alert(1)</script>",
        "http://x.fr/`onmouseover=alert(1)",
        "javascript://http://x.fr/%0aalert(1)",
        "jav&#x61;script:alert(1) http://x.fr&quot;onclick=alert(1)",
        "xhttp://x.fr",
        '<script>alert(1)</script> http://x.fr <img src=x onerror="alert(1)"> https://y.fr',
    ],
)
def test_hostile_bodies_stay_harmless(hostile: str) -> None:
    html = str(linkify(hostile))
    # no tag but our <a>, no attribute but ours, and every href is http(s)
    for tag in re.findall(r"<[^>]*>", html):
        assert re.fullmatch(
            r'<a href="https?://[^"<>\s]+" rel="noopener noreferrer nofollow" target="_blank">'
            r"|</a>",
            tag,
        ), tag
    assert "<script" not in html and "<img" not in html
    text = re.sub(r"<[^>]*>", "", html)
    assert "<" not in text and '"' not in text and "'" not in text


def test_the_linkify_filter_escapes_even_without_autoescape() -> None:
    template = Template("{% load smsdesk %}{% autoescape off %}{{ b|linkify }}{% endautoescape %}")
    html = template.render(Context({"b": "<i>x</i> https://a.fr"}))
    assert html == "&lt;i&gt;x&lt;/i&gt; " + LINK.format("https://a.fr")


def test_a_very_long_url_stays_text() -> None:
    url = "https://example.org/" + "a" * 2100
    assert linkify(url) == url
