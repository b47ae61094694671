from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Message
from tests.conftest import in_a_month


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(api: Client, body: dict):  # type: ignore[no-untyped-def]
    return api.post("/api/v1/messages", body, content_type="application/json")


@pytest.mark.django_db
def test_post_creates_the_messages_and_answers_201(api: Client, operator: User) -> None:
    response = post(api, {"to": ["+33612345678", "06 98 76 54 32"], "text": "Bonjour"})
    assert response.status_code == 201
    body = response.json()
    assert [m["status"] for m in body["messages"]] == ["queued", "queued"]
    assert [m["to"] for m in body["messages"]] == ["+33612345678", "+33698765432"]
    ids = [m["id"] for m in body["messages"]]
    assert set(Message.objects.filter(author=operator).values_list("id", flat=True)) == set(ids)


@pytest.mark.django_db
def test_post_sends_through_the_line_it_names(api: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["simulator", "sim-b=simulator"]
    response = post(api, {"to": ["0612345678"], "text": "x", "gateway": "sim-b"})
    assert response.status_code == 201, response.content
    [message] = Message.objects.all()
    assert message.gateway_id == "sim-b"
    post(api, {"to": ["0612345678"], "text": "y"})  # none named: the first
    assert Message.objects.get(body="y").gateway_id == "simulator"


@pytest.mark.django_db
def test_post_with_send_at_schedules(api: Client) -> None:
    response = post(api, {"to": ["0612345678"], "text": "x", "send_at": in_a_month().isoformat()})
    assert response.status_code == 201
    assert response.json()["messages"][0]["status"] == "scheduled"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body,status,field",
    [
        ({"to": ["12"], "text": "x"}, 400, "to"),
        ({"to": ["0612345678"], "text": ""}, 400, "text"),
        ({"to": ["0612345678"], "text": "a" * 1531}, 400, "text"),
        ({"to": ["0612345678"], "text": "x", "send_at": "2001-01-01T00:00:00Z"}, 400, "send_at"),
        ({"to": ["0612345678"], "text": "x", "send_at": "tomorrow"}, 422, "send_at"),
        # `to` may be empty when contacts or groups are given: the service says what is missing
        ({"to": [], "text": "x"}, 400, "to"),
        ({"text": "x"}, 400, "to"),
        ({"to": "0612345678", "text": "x"}, 422, "to"),
        ({"to": ["0612345678"], "text": "x", "gateway": "nowhere"}, 400, "gateway"),
        ({"to": ["0612345678"], "text": "x", "gateway": "../simulator"}, 400, "gateway"),
        ({"to": ["0612345678"], "text": "x", "gateway": "sim\u0000"}, 400, "gateway"),
        ({"to": ["0612345678"], "text": "x", "gateway": "s" * 51}, 422, "gateway"),
        ({"to": ["0612345678"], "text": "x", "gateway": ["simulator"]}, 422, "gateway"),
    ],
)
def test_bad_input_says_which_field_and_stores_nothing(api: Client, body, status, field) -> None:  # type: ignore[no-untyped-def]
    response = post(api, body)
    assert response.status_code == status, response.content
    error = response.json()
    assert error["field"] == field and error["message"]
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_get_one_message(api: Client) -> None:
    [m] = sending.create_campaign(author=None, body="Hi", to=["0612345678"]).created_messages
    response = api.get(f"/api/v1/messages/{m.id}")
    assert response.status_code == 200
    assert response.json()["status"] == "queued" and response.json()["to"] == "+33612345678"
    assert api.get("/api/v1/messages/999999").status_code == 404


@pytest.mark.django_db
def test_list_filters_by_direction_and_pages(api: Client) -> None:
    sending.create_campaign(author=None, body="out", to=["0612345678", "0612345679", "0612345670"])
    receiving.receive_inbound(
        gateway="simulator",
        sender="+33698765432",
        text="in",
        received_at=Message.objects.first().created_at,
    )
    inbound = api.get("/api/v1/messages?direction=in").json()
    assert [m["from"] for m in inbound["messages"]] == ["+33698765432"]
    first = api.get("/api/v1/messages?direction=out&limit=2").json()
    assert first["count"] == 3 and len(first["messages"]) == 2
    rest = api.get(f"/api/v1/messages?direction=out&limit=2&before={first['next_cursor']}").json()
    assert len(rest["messages"]) == 1 and rest["next_cursor"] is None
    assert api.get("/api/v1/messages?direction=sideways").status_code == 422
