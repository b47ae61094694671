"""The API's cursor pages (api/paging.py): newest first by (time, id), the order of an index
led by the organisation; the cursor is still a row's id, and an id that names none of the
organisation's rows keeps its former meaning (the rows with a smaller or greater id)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import Organisation, User
from smsdesk.core import tenancy
from smsdesk.messaging import receiving

pytestmark = pytest.mark.django_db
GATEWAYS = ["simulator", "line-b=simulator?org=b"]


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def received(minutes_ago: int, text: str, gateway: str = "simulator") -> int:
    message = receiving.receive_inbound(
        gateway=gateway,
        sender="+33698765432",
        text=text,
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    assert message is not None
    return message.id


def texts(page: dict) -> list[str]:
    return [m["text"] for m in page["messages"]]


def test_pages_follow_the_time_of_each_message_not_its_id(api: Client) -> None:
    # stored in this order, sent by the network in another (a phone that was off)
    for minutes, text in ((30, "b"), (10, "d"), (40, "a"), (20, "c"), (5, "e")):
        received(minutes, text)
    first = api.get("/api/v1/messages?limit=2").json()
    assert texts(first) == ["e", "d"] and first["count"] == 5
    second = api.get(f"/api/v1/messages?limit=2&before={first['next_cursor']}").json()
    assert texts(second) == ["c", "b"]
    last = api.get(f"/api/v1/messages?limit=2&before={second['next_cursor']}").json()
    assert texts(last) == ["a"] and last["next_cursor"] is None
    # forwards, oldest first, from the start (0) and from a cursor
    walk = api.get("/api/v1/messages?limit=3&after=0&direction=in").json()
    assert texts(walk) == ["a", "b", "c"]
    rest = api.get(f"/api/v1/messages?limit=3&after={walk['next_cursor']}").json()
    assert texts(rest) == ["d", "e"] and rest["next_cursor"] is None
    # since_id still means "a greater id", in the list's order
    b_id = first["messages"][1]["id"]  # "d", the second stored
    newer = api.get(f"/api/v1/messages?since_id={b_id}").json()
    assert texts(newer) == ["e", "c", "a"]


def test_a_cursor_naming_no_message_of_the_organisation_bounds_by_id(api: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    tenancy.sole_organisation()
    Organisation.objects.create(name="B", slug="b")
    mine = [received(30 - i, f"m{i}") for i in range(3)]
    theirs = received(60, "other organisation", gateway="line-b")  # a greater id, older
    assert theirs > mine[-1]
    # B's message is no cursor of A's: its id alone bounds A's list, B's time is not read
    page = api.get(f"/api/v1/messages?before={theirs}").json()
    assert texts(page) == ["m2", "m1", "m0"]
    assert texts(api.get(f"/api/v1/messages?before={mine[1]}").json()) == ["m0"]
    assert texts(api.get(f"/api/v1/messages?after={theirs}").json()) == []
    assert texts(api.get("/api/v1/messages?before=999999").json()) == ["m2", "m1", "m0"]
    assert "other organisation" not in str(api.get("/api/v1/messages?after=0").json())
