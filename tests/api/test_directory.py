"""/api/v1/contacts and /api/v1/groups, and contacts/groups in POST /api/v1/messages."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.directory import services
from smsdesk.directory.models import Contact, Group
from smsdesk.messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_contacts_create_list_update_delete(api: Client) -> None:
    created = api.post(
        "/api/v1/contacts",
        {"name": "Dupont", "first_name": "Jean", "number": "06 12 34 56 78"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["number"], body["groups"]) == ("+33612345678", [])
    listed = api.get("/api/v1/contacts", {"q": "+33 6 12"}).json()
    assert listed["count"] == 1 and listed["contacts"][0]["name"] == "Dupont"
    patched = api.patch(
        f"/api/v1/contacts/{body['id']}", {"name": "Durand"}, content_type="application/json"
    )
    assert patched.json()["name"] == "Durand" and patched.json()["first_name"] == "Jean"
    assert api.delete(f"/api/v1/contacts/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/contacts/{body['id']}").status_code == 404


def test_contact_errors_have_the_api_shape(api: Client) -> None:
    services.create_contact(name="Dupont", number="0612345678")
    taken = api.post(
        "/api/v1/contacts", {"name": "X", "number": "+33612345678"}, content_type="application/json"
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "number_taken" and taken.json()["field"] == "number"
    bad = api.post(
        "/api/v1/contacts", {"name": "X", "number": "12"}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_number"
    missing = api.post(
        "/api/v1/contacts", {"number": "0698765432"}, content_type="application/json"
    )
    assert missing.status_code == 422 and missing.json()["field"] == "name"
    assert Contact.objects.count() == 1


def test_groups_create_list_update_delete(api: Client) -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    created = api.post(
        "/api/v1/groups", {"name": "Clients", "contacts": [a.id]}, content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["size"] == 1
    gid = created.json()["id"]
    patched = api.patch(
        f"/api/v1/groups/{gid}", {"add": [b.id], "remove": [a.id]}, content_type="application/json"
    )
    assert patched.json()["size"] == 1
    assert list(Group.objects.get().contacts.all()) == [b]
    assert api.get("/api/v1/groups").json()["groups"] == [
        {"id": gid, "name": "Clients", "size": 1, "rule": None}
    ]
    unknown = api.patch(f"/api/v1/groups/{gid}", {"add": [999]}, content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_target"
    assert api.delete(f"/api/v1/groups/{gid}").status_code == 204
    assert Contact.objects.count() == 2


def test_send_to_contacts_and_groups(api: Client) -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    group = services.create_group(name="G", contacts=[a.id, b.id])
    response = api.post(
        "/api/v1/messages",
        {"text": "Bonjour", "to": ["0611223344"], "contacts": [a.id], "groups": [group.id]},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert [m["to"] for m in response.json()["messages"]] == [
        "+33611223344",
        "+33612345678",
        "+33698765432",
    ]
    assert Message.objects.count() == 3


def test_send_to_an_unknown_group_stores_nothing(api: Client) -> None:
    response = api.post(
        "/api/v1/messages", {"text": "x", "groups": [42]}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["field"] == "groups"
    assert not Message.objects.exists()


@pytest.mark.parametrize("url", ["/api/v1/contacts", "/api/v1/groups"])
def test_the_directory_api_needs_a_token(url: str) -> None:
    assert Client().get(url).status_code == 401
