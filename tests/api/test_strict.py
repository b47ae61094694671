"""The strict API: unknown fields and parameters named in a 400, every error in the JSON
shape and the language of Accept-Language, Idempotency-Key on POST, readable operation ids,
and the webhooks endpoints."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from smsdesk.accounts import services
from smsdesk.accounts.models import User
from smsdesk.api.endpoints import api
from smsdesk.messaging.models import Campaign, Message
from smsdesk.webhooks.models import Endpoint

SEND = {"to": ["0612345678"], "text": "Bonjour"}


@pytest.fixture
def client(operator: User) -> Client:
    _t, raw = services.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    _t, raw = services.create_token(user=admin_user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_an_unknown_field_is_refused_by_name_and_nothing_is_sent(client: Client) -> None:
    answer = client.post(
        "/api/v1/messages",
        {**SEND, "status_callback": "https://crm.example/cb", "sendat": "2030-01-01"},
        content_type="application/json",
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "unknown_field"
    assert "status_callback" in body["message"] and "sendat" in body["message"]
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_an_unknown_query_parameter_is_refused_by_name(client: Client) -> None:
    answer = client.get("/api/v1/messages?since=2026-01-01&limit=5")
    assert answer.status_code == 400
    assert answer.json()["code"] == "unknown_parameter"
    assert "since" in answer.json()["message"]
    assert client.get("/api/v1/messages?limit=5").status_code == 200


@pytest.mark.django_db
def test_errors_are_json_in_the_language_asked(client: Client) -> None:
    wrong_method = client.put("/api/v1/messages", HTTP_ACCEPT_LANGUAGE="en")
    assert wrong_method.status_code == 405
    assert wrong_method["Content-Type"].startswith("application/json")
    assert wrong_method.json()["code"] == "method_not_allowed"
    assert "GET" in wrong_method["Allow"] and "POST" in wrong_method["Allow"]
    assert "not allowed" in wrong_method.json()["message"]
    french = client.put("/api/v1/messages")  # French by default
    assert "autorisé" in french.json()["message"]
    english = client.get("/api/v1/nowhere", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    assert english.status_code == 404 and english.json()["message"] == "Not found."
    assert client.get("/api/v1/nowhere").json()["message"] == "Introuvable."
    wrong_media = client.post("/api/v1/messages", "to=06", content_type="text/plain")
    assert wrong_media.status_code == 415
    assert wrong_media.json()["code"] == "unsupported_media_type"
    no_token = Client().get("/api/v1/messages", HTTP_ACCEPT_LANGUAGE="de, en;q=0.5")
    assert no_token.status_code == 401 and "token" in no_token.json()["message"]


@pytest.mark.django_db
def test_the_same_idempotency_key_answers_the_first_answer_and_sends_once(
    client: Client,
) -> None:
    first = client.post(
        "/api/v1/messages", SEND, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        "/api/v1/messages", SEND, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Campaign.objects.count() == 1 and Message.objects.count() == 1
    other = client.post(
        "/api/v1/messages",
        {**SEND, "text": "Autre"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Message.objects.count() == 1
    bad = client.post(
        "/api/v1/messages", SEND, content_type="application/json", HTTP_IDEMPOTENCY_KEY="a b"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_idempotency_key"


@pytest.mark.django_db
def test_a_refusal_is_answered_again_too(client: Client) -> None:
    bad = {"to": ["not a number"], "text": "Bonjour"}
    first = client.post(
        "/api/v1/messages", bad, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    again = client.post(
        "/api/v1/messages", bad, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert first.status_code == again.status_code and first.status_code >= 400
    assert first.json() == again.json()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_send_once(operator: User) -> None:
    _t, raw = services.create_token(user=operator)
    start = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def post() -> None:
        c = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        start.wait()
        r = c.post(
            "/api/v1/messages", SEND, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same"
        )
        answers.append((r.status_code, r.json()))
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert Campaign.objects.count() == 1 and Message.objects.count() == 1
    assert [code for code, _b in answers] == [201, 201]
    assert answers[0][1] == answers[1][1]


@pytest.mark.django_db
def test_operation_ids_read_well_and_have_tags() -> None:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert "send_message" in ids and "create_webhook" in ids
    assert not any(i.startswith("smsdesk_") for i in ids)
    for ops in schema["paths"].values():
        for op in ops.values():
            assert op.get("tags"), op["operationId"]


@pytest.mark.django_db
def test_webhooks_by_api(admin_client: Client, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    created = admin_client.post(
        "/api/v1/webhooks",
        {"url": "https://93.184.216.34/hook", "events": ["message.status", "message.received"]},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["id"]
    listed = admin_client.get("/api/v1/webhooks").json()["webhooks"]
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0]  # shown once
    assert admin_client.get(f"/api/v1/webhooks/{body['id']}").json()["url"].endswith("/hook")
    private = admin_client.post(
        "/api/v1/webhooks",
        {"url": "http://169.254.169.254/", "events": ["message.status"]},
        content_type="application/json",
    )
    assert private.status_code == 400 and private.json()["code"] == "invalid_url"
    unknown = admin_client.post(
        "/api/v1/webhooks",
        {"url": "https://93.184.216.34/", "events": ["message.sent"]},
        content_type="application/json",
    )
    assert unknown.status_code == 422
    assert client.get("/api/v1/webhooks").status_code == 403  # an operator's token
    assert admin_client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 204
    assert not Endpoint.objects.exists()
    assert admin_client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 404


@pytest.mark.django_db
def test_text_is_literal_unless_personalise_is_asked(client: Client) -> None:
    literal = client.post(
        "/api/v1/messages",
        {"to": ["0612345678"], "text": "Code {prénom} : 42"},
        content_type="application/json",
    )
    assert literal.status_code == 201
    assert literal.json()["messages"][0]["text"] == "Code {prénom} : 42"
    personal = client.post(
        "/api/v1/messages",
        {"to": ["0612345679"], "text": "Bonjour {prénom|vous}", "personalise": True},
        content_type="application/json",
    )
    assert personal.status_code == 201
    assert personal.json()["messages"][0]["text"] == "Bonjour vous"


@pytest.mark.django_db
def test_send_at_without_an_offset_is_refused(client: Client) -> None:
    naive = client.post(
        "/api/v1/messages",
        {**SEND, "send_at": "2030-01-01T09:30:00"},
        content_type="application/json",
    )
    assert naive.status_code == 422
    assert naive.json()["field"] == "send_at" and "offset" in naive.json()["message"]
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_lists_walk_forwards_and_filter(client: Client, operator: User) -> None:
    from smsdesk.directory.services import Targets
    from smsdesk.messaging import sending

    ids = []
    for tag in ("a", "b", "a"):
        c = sending.create_campaign(
            author=operator, body="x", targets=Targets(numbers=["0612345678"]), tag=tag
        )
        ids.append(c.created_messages[0].id)
    page = client.get("/api/v1/messages?after=0&limit=2").json()
    assert [m["id"] for m in page["messages"]] == ids[:2]  # oldest first
    rest = client.get(f"/api/v1/messages?after={page['next_cursor']}&limit=2").json()
    assert [m["id"] for m in rest["messages"]] == ids[2:] and rest["next_cursor"] is None
    newer = client.get(f"/api/v1/messages?since_id={ids[0]}").json()
    assert [m["id"] for m in newer["messages"]] == [ids[2], ids[1]]  # newest first
    tagged = client.get("/api/v1/messages?tag=a").json()
    assert [m["id"] for m in tagged["messages"]] == [ids[2], ids[0]]
    assert client.get("/api/v1/messages?gateway=nowhere").json()["messages"] == []
    assert client.get("/api/v1/messages?created_since=2999-01-01T00:00:00Z").json()["count"] == 0
    one = client.get(f"/api/v1/messages/{ids[0]}").json()
    assert one["status"] == "queued" and one["read"] is None and one["keyword"] is None


@pytest.mark.django_db
def test_cancel_a_message_and_read_a_conversation(client: Client, operator: User) -> None:
    from smsdesk.directory.services import Targets
    from smsdesk.messaging import receiving, sending
    from smsdesk.messaging.models import Conversation

    c = sending.create_campaign(author=operator, body="x", targets=Targets(numbers=["0612345678"]))
    mid = c.created_messages[0].id
    cancelled = client.post(f"/api/v1/messages/{mid}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/messages/{mid}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "not_actionable"
    assert client.post("/api/v1/messages/999999/cancel").status_code == 404
    from django.utils import timezone

    receiving.receive_inbound(
        sender="+33698765432", text="STOP", gateway="simulator", received_at=timezone.now()
    )
    conversation = Conversation.objects.get(peer="+33698765432")
    inbound = client.get("/api/v1/messages?direction=in").json()["messages"][0]
    assert inbound["keyword"] == "stop" and inbound["read"] is False
    read = client.post(f"/api/v1/conversations/{conversation.id}/read")
    assert read.status_code == 200 and read.json() == {"read": 1}
    assert client.get(f"/api/v1/messages/{inbound['id']}").json()["read"] is True
    assert client.post("/api/v1/conversations/999999/read").status_code == 404
