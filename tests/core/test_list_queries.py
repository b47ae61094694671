"""Every list, web and API, costs the same number of queries whatever its length and however
deep the page (no N+1, no query per row), and a deep page is read past a cursor, never with
an OFFSET (core/lists.py)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.calls.models import Call
from smsdesk.directory import services as directory
from smsdesk.messaging import receiving, sending
from smsdesk.optout import services as optout

pytestmark = pytest.mark.django_db

_serial = itertools.count(1000)


def _numbers(n: int) -> list[str]:
    return [f"+3361234{next(_serial):04d}" for _ in range(n)]


def _sent(n: int) -> str:
    for number in _numbers(n):
        sending.create_campaign(author=None, body="sortant", to=[number])
    return "/sms/sent/"


def _received(url: str) -> Callable[[int], str]:
    def seed(n: int) -> str:
        for number in _numbers(n):
            receiving.receive_inbound(
                gateway="sim", sender=number, text="entrant", received_at=timezone.now()
            )
        return url

    return seed


def _conversations(n: int) -> str:
    _sent(n)
    return "/sms/conversations/"


def _campaigns(n: int) -> str:
    _sent(n)
    return "/sms/campaigns/"


def _campaign_recipients(n: int) -> str:
    campaign = sending.create_campaign(author=None, body="x", to=_numbers(n))
    return f"/sms/campaigns/{campaign.id}/"


def _stop(n: int) -> str:
    for number in _numbers(n):
        optout.opt_out(number, source="sms", keyword="STOP")
    return "/stop/"


def _stop_history(n: int) -> str:
    _stop(n)
    return "/stop/history/"


def _calls(n: int) -> str:
    now = timezone.now()
    for i, number in enumerate(_numbers(n)):
        Call.objects.create(caller=number, gateway="sim", at=now - timedelta(seconds=i))
    return "/calls/"


def _contacts(n: int) -> str:
    made = [directory.create_contact(name=f"Nom {n}", number=n) for n in _numbers(n)]
    directory.create_group(name=f"groupe {next(_serial)}", contacts=[c.id for c in made])
    return "/directory/contacts/"


def _groups(n: int) -> str:
    for _ in range(n):
        directory.create_group(name=f"groupe {next(_serial)}")
    return "/directory/groups/"


WEB_LISTS: dict[str, Callable[[int], str]] = {
    "sent": _sent,
    "received": _received("/sms/received/"),
    "unread": _received("/sms/unread/"),
    "conversations": _conversations,
    "campaigns": _campaigns,
    "campaign recipients": _campaign_recipients,
    "stop": _stop,
    "stop history": _stop_history,
    "calls": _calls,
    "contacts": _contacts,
    "groups": _groups,
}


@dataclass
class Visit:
    queries: int
    sql: list[str]
    html: str


def visit(client: Client, url: str) -> Visit:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return Visit(len(captured), [q["sql"] for q in captured], response.content.decode())


def next_link(html: str) -> str:
    found = re.search(r'rel="next" href="([^"]+)"', html)
    assert found, "no Next link"
    return found.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("name", WEB_LISTS)
def test_a_web_list_costs_the_same_queries_for_3_or_30_rows(client_bob: Client, name: str) -> None:
    seed = WEB_LISTS[name]
    url = seed(3)
    visit(client_bob, url)  # the session and the user are read once for all
    few = visit(client_bob, url)
    url = seed(27) if name != "campaign recipients" else seed(30)
    many = visit(client_bob, url)
    assert many.queries == few.queries, "\n".join(many.sql)


@pytest.mark.parametrize("name", WEB_LISTS)
def test_a_deep_web_page_costs_what_the_first_does_and_has_no_offset(
    client_bob: Client, name: str
) -> None:
    url = WEB_LISTS[name](35)
    visit(client_bob, url)
    first = visit(client_bob, f"{url}?per_page=10")
    second = visit(client_bob, url + next_link(first.html))
    third = visit(client_bob, url + next_link(second.html))
    assert third.queries == first.queries, "\n".join(third.sql)
    assert 'rel="prev"' in third.html
    assert not [sql for sql in third.sql if "OFFSET" in sql.upper()]
    last = visit(client_bob, f"{url}?per_page=10&last=1")
    assert last.queries == first.queries
    assert not [sql for sql in last.sql if "OFFSET" in sql.upper()]


# --- the API --------------------------------------------------------------------------------


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


# (seed, URL, key of the rows, parameter that takes next_cursor)
API_LISTS: dict[str, tuple[Callable[[int], object], str, str, str]] = {
    "messages": (_sent, "/api/v1/messages", "messages", "before"),
    "optouts": (_stop, "/api/v1/optouts", "optouts", "before"),
    "calls": (_calls, "/api/v1/calls", "calls", "before"),
    "campaigns": (_sent, "/api/v1/campaigns", "campaigns", "before"),
    "contacts": (_contacts, "/api/v1/contacts", "contacts", "after"),
    "groups": (_groups, "/api/v1/groups", "groups", "after"),
}


def api_visit(api: Client, url: str, params: dict) -> tuple[int, list[str], dict]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured), [q["sql"] for q in captured], response.json()


@pytest.mark.parametrize("name", API_LISTS)
def test_an_api_list_costs_the_same_queries_for_3_or_30_rows_and_deep(
    api: Client, name: str
) -> None:
    seed, url, key, cursor_param = API_LISTS[name]
    seed(3)
    api_visit(api, url, {"limit": 10})
    few, _sql, body = api_visit(api, url, {"limit": 10})
    assert len(body[key]) == 3 and body["next_cursor"] is None
    seed(32)
    first, _sql, body = api_visit(api, url, {"limit": 10})
    assert first == few
    seen = [row.get("id", row.get("number")) for row in body[key]]
    for _ in range(2):
        deep, sql, body = api_visit(api, url, {"limit": 10, cursor_param: body["next_cursor"]})
        seen += [row.get("id", row.get("number")) for row in body[key]]
        assert deep == first, "\n".join(sql)
        assert not [s for s in sql if "OFFSET" in s.upper()]
    assert len(seen) == len(set(seen)) == 30
    if name != "campaigns":  # the campaign list has no count
        assert body["count"] == 35 and body["count_exact"] is True


def test_the_users_page_pages_by_name_at_a_fixed_cost(admin_user: User) -> None:
    client = Client()
    client.force_login(admin_user)
    for _ in range(2):
        User.objects.create_user(f"user{next(_serial)}", password="x")
    visit(client, "/accounts/users/")
    few = visit(client, "/accounts/users/?per_page=10")
    for _ in range(30):
        User.objects.create_user(f"user{next(_serial)}", password="x")
    first = visit(client, "/accounts/users/?per_page=10")
    second = visit(client, "/accounts/users/" + next_link(first.html))
    assert few.queries == first.queries == second.queries, "\n".join(second.sql)
    assert not [sql for sql in second.sql if "OFFSET" in sql.upper()]
    names = re.findall(r'data-username="([^"]+)"', first.html + second.html)
    assert names == sorted(names) and len(names) == 20
