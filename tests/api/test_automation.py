"""The API of issue 20: "repeat" on POST /messages, /recurring, /autoreplies, dynamic groups."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.directory.models import Contact, ContactField
from smsdesk.messaging.models import AutoReply, Campaign, Message, Recurrence


def client_for(user: User) -> Client:
    _token, raw = accounts.create_token(user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(api: Client, path: str, body: object):  # type: ignore[no-untyped-def]
    return api.post(f"/api/v1/{path}", body, content_type="application/json")


WEEKLY = {"every": "week", "on": ["mon", "thu"], "at": "09:00", "times": 10}


@pytest.mark.django_db
def test_repeat_creates_a_recurring_send_and_nothing_now(operator: User) -> None:
    api = client_for(operator)
    response = post(api, "messages", {"to": ["0612345678"], "text": "Rappel", "repeat": WEEKLY})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["campaign_id"] is None and body["messages"] == []
    assert body["recurrence"]["repeat"] == WEEKLY
    assert body["recurrence"]["next_at"]
    assert not Message.objects.exists() and not Campaign.objects.exists()
    listed = api.get("/api/v1/recurring").json()["recurring"]
    assert [r["id"] for r in listed] == [body["recurrence"]["id"]]
    rid = body["recurrence"]["id"]
    assert api.patch(
        f"/api/v1/recurring/{rid}", {"paused": True}, content_type="application/json"
    ).json()["paused"]
    assert api.delete(f"/api/v1/recurring/{rid}").status_code == 204
    assert not Recurrence.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "repeat, field",
    [
        ({"every": "fortnight", "at": "09:00"}, "every"),
        ({"every": "week", "on": ["mon", "xyz"], "at": "09:00"}, "on"),
        ({"every": "month", "day": "last-xyz", "at": "09:00"}, "day"),
        ({"every": "day", "at": "25:00"}, "at"),
        ({"every": "day", "at": "09:00", "until": "31/12/2026"}, "until"),
    ],
)
def test_a_bad_repeat_says_which_part_and_stores_nothing(operator: User, repeat, field) -> None:  # type: ignore[no-untyped-def]
    response = post(
        client_for(operator), "messages", {"to": ["0612345678"], "text": "x", "repeat": repeat}
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert not Recurrence.objects.exists()


@pytest.mark.django_db
def test_repeat_with_send_at_is_refused(operator: User) -> None:
    body = {"to": ["0612345678"], "text": "x", "repeat": WEEKLY, "send_at": "2030-01-01T09:00:00Z"}
    response = post(client_for(operator), "messages", body)
    assert response.status_code == 400 and response.json()["field"] == "send_at"


@pytest.mark.django_db
def test_autoreplies_are_added_by_administrators(admin_user: User, operator: User) -> None:
    body = {"keyword": "horaires", "match": "word", "text": "Ouvert de 9h à 18h."}
    assert post(client_for(operator), "autoreplies", body).status_code == 403
    response = post(client_for(admin_user), "autoreplies", body)
    assert response.status_code == 201, response.content
    assert response.json()["match"] == "word"
    assert AutoReply.objects.get().normalised == "horaires"
    refused = post(client_for(admin_user), "autoreplies", {**body, "keyword": "STOP"})
    assert refused.status_code == 400 and refused.json()["field"] == "keyword"


@pytest.mark.django_db
def test_a_dynamic_group_by_api(operator: User) -> None:
    ContactField.objects.create(key="ville", label="Ville")
    Contact.objects.create(name="Ana", number="+33611111111", fields={"ville": "Lyon"})
    Contact.objects.create(name="Bob", number="+33622222222", fields={"ville": "Paris"})
    api = client_for(operator)
    rule = {"all": [{"field": "ville", "op": "equals", "value": "Lyon"}]}
    response = post(api, "groups", {"name": "Lyonnais", "rule": rule})
    assert response.status_code == 201, response.content
    assert response.json()["size"] == 1 and response.json()["rule"] == rule
    gid = response.json()["id"]
    sent = post(api, "messages", {"groups": [gid], "text": "Bonjour"})
    assert [m["to"] for m in sent.json()["messages"]] == ["+33611111111"]
    bad = post(
        api,
        "groups",
        {"name": "X", "rule": {"all": [{"field": "pays", "op": "equals", "value": "FR"}]}},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "rule"
