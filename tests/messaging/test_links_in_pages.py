"""Links in message texts are clickable on the pages that show texts, and only http(s)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from smsdesk.messaging import receiving, sending

SAFE = 'rel="noopener noreferrer nofollow" target="_blank"'
HOSTILE = (
    "Bonjour https://exemple.fr/rdv?a=1&b=2 <script>alert(1)</script> javascript:alert(1) "
    '<a href="javascript:alert(2)">x</a> data:text/html,<b>x</b> http://x.fr/"onmouseover="y'
)


def links(html: str) -> list[str]:
    return re.findall(r"<a [^>]*href=\"([^\"]*)\"[^>]*" + re.escape(SAFE), html)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/sms/received/", "/sms/unread/", "/sms/conversations/with/?number=%2B33698765432"]
)
def test_inbound_texts_link_their_urls_and_nothing_else(client_bob: Client, path: str) -> None:
    receiving.receive_inbound(
        gateway="sim",
        sender="+33698765432",
        text=HOSTILE,
        received_at=datetime(2026, 11, 25, 14, 2, tzinfo=UTC),
    )
    html = client_bob.get(path, follow=True).content.decode()
    assert links(html) == ["https://exemple.fr/rdv?a=1&amp;b=2", "http://x.fr/"]
    assert "<script>alert(1)" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "data:text/html,&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.django_db
def test_sent_texts_link_their_urls_too(client_bob: Client) -> None:
    sending.create_campaign(author=None, body="Voir https://exemple.fr/a.", to=["0612345678"])
    assert links(client_bob.get("/sms/sent/").content.decode()) == ["https://exemple.fr/a"]
