"""`metadata` on messages and contacts: kept as given, returned, searched by key with
`?metadata[key]=value`; bounded (16 keys, keys of 40 characters, texts of 500), 400
`invalid_metadata` naming the problem otherwise."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts import services
from smsdesk.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(operator: User) -> Client:
    _t, raw = services.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def send(api: Client, number: str, metadata: object) -> dict:
    answer = api.post(
        "/api/v1/messages",
        {"to": [number], "text": "Bonjour", "metadata": metadata},
        content_type="application/json",
    )
    return {"status": answer.status_code, **answer.json()}


def test_a_message_keeps_its_metadata_and_is_found_by_it(api: Client) -> None:
    hostile = "a.b__c'$"  # a key, never a path nor a lookup
    sent = send(api, "0612345678", {"order": "A-1042", "crm": "77", hostile: "x"})
    assert sent["status"] == 201
    [message] = sent["messages"]
    assert message["metadata"] == {"order": "A-1042", "crm": "77", hostile: "x"}
    assert send(api, "0612345679", {"order": "A-1043"})["status"] == 201
    assert send(api, "0612345670", None)["status"] == 201
    got = api.get(f"/api/v1/messages/{message['id']}").json()
    assert got["metadata"]["order"] == "A-1042"

    def found(query: str) -> list[str]:
        answer = api.get(f"/api/v1/messages?{query}")
        assert answer.status_code == 200, answer.json()
        return [m["to"] for m in answer.json()["messages"]]

    assert found("metadata[order]=A-1042") == ["+33612345678"]
    assert found("metadata[order]=A-1042&metadata[crm]=77") == ["+33612345678"]
    assert found("metadata[order]=A-1042&metadata[crm]=78") == []
    assert found("metadata[nothing]=A-1042") == []
    assert found("metadata%5Ba.b__c%27%24%5D=x") == ["+33612345678"]
    assert len(found("")) == 3
    without = [m for m in api.get("/api/v1/messages").json()["messages"] if m["to"].endswith("70")]
    assert without[0]["metadata"] == {}


@pytest.mark.parametrize(
    ("metadata", "field", "words"),
    [
        ({f"k{i}": "v" for i in range(17)}, "metadata", "17"),
        ({"k" * 41: "v"}, "metadata." + "k" * 40, "40"),
        ({"": "v"}, "metadata", "40"),
        ({'a"b': "v"}, 'metadata.a"b', "40"),
        ({"a[b]": "v"}, "metadata.a[b]", "40"),
        ({"order": "x" * 501}, "metadata.order", "500"),
        ({"order": 42}, "metadata.order", "order"),
        ({"order": {"nested": "x"}}, "metadata.order", "order"),
        ({"order": "a\x00b"}, "metadata.order", "order"),
        (["order"], "metadata", "metadata"),
        ("order", "metadata", "metadata"),
    ],
)
def test_out_of_bounds_metadata_is_refused_naming_the_problem(
    api: Client, metadata: object, field: str, words: str
) -> None:
    refused = send(api, "0612345678", metadata)
    assert refused["status"] == 400, refused
    assert refused["code"] == "invalid_metadata"
    assert refused["field"] == field
    assert words in refused["message"]
    assert api.get("/api/v1/messages").json()["messages"] == []  # nothing saved


def test_the_bounds_themselves_are_accepted(api: Client) -> None:
    at_bounds = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(16)}
    sent = send(api, "0612345678", at_bounds)
    assert sent["status"] == 201 and sent["messages"][0]["metadata"] == at_bounds


def test_a_contact_keeps_its_metadata_replaced_by_a_patch_and_is_found_by_it(
    api: Client,
) -> None:
    made = api.post(
        "/api/v1/contacts",
        {"name": "Léa", "number": "0612345678", "metadata": {"crm": "77"}},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["metadata"] == {"crm": "77"}
    other = api.post(
        "/api/v1/contacts", {"name": "Zoé", "number": "0612345679"}, content_type="application/json"
    )
    assert other.json()["metadata"] == {}
    cid = made.json()["id"]
    assert [c["id"] for c in api.get("/api/v1/contacts?metadata[crm]=77").json()["contacts"]] == [
        cid
    ]
    patched = api.patch(
        f"/api/v1/contacts/{cid}", {"metadata": {"crm": "78"}}, content_type="application/json"
    )
    assert patched.json()["metadata"] == {"crm": "78"}
    untouched = api.patch(
        f"/api/v1/contacts/{cid}", {"name": "Léa B."}, content_type="application/json"
    )
    assert untouched.json()["metadata"] == {"crm": "78"}  # no metadata given: unchanged
    assert api.get("/api/v1/contacts?metadata[crm]=77").json()["contacts"] == []
    refused = api.patch(
        f"/api/v1/contacts/{cid}", {"metadata": {"crm": 78}}, content_type="application/json"
    )
    assert refused.status_code == 400 and refused.json()["field"] == "metadata.crm"


def test_a_search_out_of_bounds_or_where_none_is_declared_is_refused(api: Client) -> None:
    too_long = api.get("/api/v1/messages?metadata[" + "k" * 41 + "]=x")
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid_metadata"
    # only the operations that declare it take metadata[...]; look-alikes stay unknown
    for path in ("/api/v1/messages?metadatax[a]=b", "/api/v1/calls?metadata[a]=b"):
        answer = api.get(path)
        assert answer.status_code == 400 and answer.json()["code"] == "unknown_parameter"
