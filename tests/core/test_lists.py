"""The lists' controls: page size, search and sortable columns, kept across pages."""

from __future__ import annotations

import re

from django.test import Client

from smsdesk.messaging import sending
from smsdesk.optout import services as optout


def peers_in_order(html: str) -> list[str]:
    found = re.findall(r'<a href="/sms/conversations/with/\?number=%2B(\d+)">', html)
    return ["+" + digits for digits in found]


def test_sent_sorts_by_number_both_ways_and_by_date_by_default(client_bob: Client) -> None:
    for number in ("0612345673", "0612345671", "0612345672"):
        sending.create_campaign(author=None, body="x", to=[number])
    newest_first = ["+33612345672", "+33612345671", "+33612345673"]
    assert peers_in_order(client_bob.get("/sms/sent/").content.decode()) == newest_first
    html = client_bob.get("/sms/sent/?sort=number").content.decode()
    assert peers_in_order(html) == ["+33612345671", "+33612345672", "+33612345673"]
    # The header of the sorted column sorts the other way, and says which way it sorts now.
    assert re.search(r'href="\?sort=-number">Destinataire ▲</a>', html)
    html = client_bob.get("/sms/sent/?sort=-number").content.decode()
    assert peers_in_order(html) == ["+33612345673", "+33612345672", "+33612345671"]
    # Anything else falls back to the default order, without an error.
    assert peers_in_order(client_bob.get("/sms/sent/?sort=body").content.decode()) == newest_first


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_pages_keep_the_search_the_size_and_the_order(client_bob: Client) -> None:
    sending.create_campaign(author=None, body="x", to=[f"06123456{i:02d}" for i in range(25)])
    html = client_bob.get("/sms/sent/?per_page=10&q=0612&sort=number").content.decode()
    assert peers_in_order(html)[0] == "+33612345600"
    assert link(html, "prev") is None and link(html, "first") is None
    following = link(html, "next")
    assert following and following.startswith("?per_page=10&q=0612&sort=number&after=")
    assert '<input type="hidden" name="sort" value="number">' in html  # kept by "Afficher"
    page_2 = client_bob.get(f"/sms/sent/{following}").content.decode()
    page_3 = client_bob.get(f"/sms/sent/{link(page_2, 'next')}").content.decode()
    assert peers_in_order(page_3) == [f"+336123456{i}" for i in range(20, 25)]
    assert link(page_3, "next") is None and link(page_3, "last") is None
    # Back from page 3 is page 2; Last is the last 10, in the same order.
    back = client_bob.get(f"/sms/sent/{link(page_3, 'prev')}").content.decode()
    assert peers_in_order(back) == peers_in_order(page_2)
    last = client_bob.get(f"/sms/sent/{link(html, 'last')}").content.decode()
    assert peers_in_order(last) == [f"+336123456{i}" for i in range(15, 25)]
    first = client_bob.get(f"/sms/sent/{link(last, 'first')}").content.decode()
    assert peers_in_order(first) == peers_in_order(html)
    assert "25 résultats" in html


def test_a_new_order_starts_at_the_first_page(client_bob: Client) -> None:
    sending.create_campaign(author=None, body="x", to=[f"06123456{i:02d}" for i in range(12)])
    html = client_bob.get("/sms/sent/?per_page=10").content.decode()
    page_2 = client_bob.get(f"/sms/sent/{link(html, 'next')}").content.decode()
    assert "after=" not in re.search(r'href="(\?[^"]*sort=number[^"]*)"', page_2).group(1)


def test_the_stop_list_sorts_by_number(client_bob: Client) -> None:
    for number in ("+33612345679", "+33612345670"):
        optout.opt_out(number, source="sms", keyword="STOP")
    html = client_bob.get("/stop/?sort=number").content.decode()
    assert html.index("+33612345670") < html.index("+33612345679")
    html = client_bob.get("/stop/").content.decode()  # newest first
    assert html.index("+33612345670") < html.index("+33612345679")
    html = client_bob.get("/stop/?sort=-number").content.decode()
    assert html.index("+33612345679") < html.index("+33612345670")
