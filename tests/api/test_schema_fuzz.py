"""A property-based run over the API, from its own OpenAPI schema (schemathesis).

Valid and invalid requests, generated from what the schema says: none may answer 5xx, and
every answer must be one the schema declares (status, content type, body). The number of
examples is bounded so the run stays short; the generated data differ from run to run only
through Hypothesis' own database (derandomized here for a repeatable suite).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.api.endpoints import api
from smsdesk.core.handler import SmsdeskWSGIHandler
from smsdesk.directory import services as directory
from smsdesk.messaging import autoreplies, recurring, sending
from smsdesk.messaging.models import Conversation
from smsdesk.optout import services as optout
from smsdesk.webhooks import services as webhooks

# The schema as the server publishes it (/api/v1/openapi.json).
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
schema.app = SmsdeskWSGIHandler()  # production's, with the API's own middleware chain

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def wsgi_keeps_the_test_database() -> Iterator[None]:
    # Django's WSGI handler closes the database connection after each request; the test
    # client does not, and here neither must the handler (the test's transaction lives on).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db) -> str:  # type: ignore[no-untyped-def]
    user = User.objects.create_user("fuzz", password="correct horse 42")
    _token, raw = accounts.create_token(user=user)
    return f"Bearer {raw}"


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.usefixtures("wsgi_keeps_the_test_database")
def test_the_api_keeps_to_its_schema(case, bearer: str) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": bearer}, checks=CHECKS)


@pytest.mark.django_db
def test_the_schema_is_readable_with_a_bearer_token(bearer: str, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 200
    assert "/api/v1/messages" in response.json()["paths"]
    refused = client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION="Bearer smsd_forged")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"


# --- hostile values in every parameter, from the schema ------------------------------------
# Each parameter and body field the schema declares is given values no database column can
# hold or that must never reach one: ids of 2**63 and beyond (SQLite: OverflowError), far
# dates with odd offsets (9999-12-31T23:59:59-23:59 is in the year 10000 in UTC), NUL and
# other control characters (PostgreSQL refuses a NUL). Every other field of the request is
# valid (VALID, by name), so the hostile value reaches the code behind it. The promise: an
# answer in the documented JSON shape, 2xx or 4xx, never a 5xx nor the web's HTML page.
# A parameter added to the API is in the schema, hence here; a name VALID does not know
# fails test_every_parameter_has_a_valid_value until it is given one.

SCHEMA = api.get_openapi_schema(path_prefix="/api/v1/")
BIG_IDS = [2**63, 2**64, 10**30, 0, -1, -(2**63) - 1]
FAR_DATES = [
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00-00:01",
    "9999-12-30T23:00:00-01:00",
]
CONTROLS = ["\x00", "a\x00b", "\x1b[2J", "\x7f", "\x85", "x\x08"]


def _resolve(node: dict) -> dict:
    if "$ref" in node:
        return _resolve(SCHEMA["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
    return _resolve(options[0]) if options else node


def kind_of(node: dict) -> str | None:
    """What hostile values a field gets: ids, dates, text; None for booleans and enums."""
    node = _resolve(node)
    kind = node.get("type")
    if kind == "array":
        inner = kind_of(node["items"])
        return f"{inner}s" if inner else None
    if kind == "integer":
        return "id"
    if kind == "string" and "enum" not in node:
        return {"date-time": "date", "binary": None}.get(node.get("format", ""), "text")
    if kind == "object":
        return "text-values"
    return None


@dataclass(frozen=True)
class Field_:
    method: str
    path: str
    where: str  # "path", "query", "json", "form"
    name: str
    kind: str
    required: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.name}"


def fields_of_the_schema() -> list[Field_]:
    found = []
    for path, operations in SCHEMA["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                kind = kind_of(p["schema"])
                found.append(
                    Field_(method, path, p["in"], p["name"], kind or "", p.get("required", False))
                )
            for content, body in op.get("requestBody", {}).get("content", {}).items():
                node = _resolve(body["schema"])
                where = "json" if content == "application/json" else "form"
                for name, prop in node.get("properties", {}).items():
                    found.append(
                        Field_(
                            method,
                            path,
                            where,
                            name,
                            kind_of(prop) or "",
                            name in node.get("required", []),
                        )
                    )
    return found


FIELDS = fields_of_the_schema()
HOSTILE_FIELDS = [f for f in FIELDS if f.kind]
_serial = itertools.count(1)


def _unique_number() -> str:
    return f"+3361{next(_serial) % 10**7:07d}"


# A valid value for each name the schema uses, given the objects of the `objects` fixture.
VALID = {
    "message_id": lambda o: o["message"],
    "campaign_id": lambda o: o["campaign"],
    "contact_id": lambda o: o["contact"],
    "group_id": lambda o: o["group"],
    "number": lambda o: o["opted_out"],
    "reason": lambda o: "asked by phone",
    "to": lambda o: ["0612345678"],
    "text": lambda o: "Bonjour",
    "name": lambda o: f"Nom {next(_serial)}",
    "file": lambda o: b"Numero\n0612345678\n",
    "keyword": lambda o: f"mot{next(_serial)}",
    "recurrence_id": lambda o: o["recurrence"],
    "rule_id": lambda o: o["autoreply"],
    "paused": lambda o: True,
    "webhook_id": lambda o: o["webhook"],
    "conversation_id": lambda o: o["conversation"],
    "url": lambda o: "https://93.184.216.34/hook",  # a public address: no DNS needed
    "events": lambda o: ["message.received"],
}
# Optional parameters keep their default; these are given one to reach further.
VALID_OPTIONAL = {
    "json:contacts": lambda o: [o["contact"]],
    "json:groups": lambda o: [o["group"]],
    # /stats: a day after the default start (json "to", New SMS, is a list of numbers)
    "query:to": lambda o: (date.today() + timedelta(days=1)).isoformat(),
}


@pytest.fixture
def objects(bearer: str) -> dict:
    user = User.objects.get(username="fuzz")
    user.role = User.Role.ADMIN  # every endpoint answers, none with 403
    user.save()
    contact = directory.create_contact(name="Dupont", number="0698765432")
    group = directory.create_group(name="Adhérents", contacts=[contact.id])
    campaign = sending.create_campaign(
        author=user, body="x", targets=directory.Targets(numbers=["0611223344"]), send_at=None
    )
    optout.add_number("0655555555", by=user, source="api", reason="test")
    recurrence = recurring.create_recurrence(
        author=user,
        body="x",
        targets=directory.Targets(numbers=["0611223344"]),
        repeat=recurring.check_repeat(every="day", at="09:00"),
    )
    autoreply = autoreplies.create_rule(by=user, keyword="horaires", text="9h-18h")
    webhook, _secret = webhooks.create_endpoint(
        by=user, url="https://93.184.216.34/", events=["message.status"]
    )
    return {
        "recurrence": recurrence.id,
        "autoreply": autoreply.id,
        "webhook": webhook.id,
        "conversation": Conversation.objects.get(peer="+33611223344").id,
        "user": user,
        "contact": contact.id,
        "group": group.id,
        "campaign": campaign.id,
        "message": campaign.created_messages[0].id,
        "opted_out": "+33655555555",
    }


def _request(field: Field_, value: object, objects: dict) -> tuple[str, dict, object, str]:
    """(url, query, body, content type) of a valid request with `value` in `field`."""
    path_values, query, body = {}, {}, {}
    for other in [f for f in FIELDS if (f.method, f.path) == (field.method, field.path)]:
        key = f"{other.where}:{other.name}"
        if other == field:
            given_value = value
        elif other.required:
            given_value = VALID[other.name](objects)
        elif key in VALID_OPTIONAL:
            given_value = VALID_OPTIONAL[key](objects)
        else:
            continue
        {"path": path_values, "query": query}.get(other.where, body)[other.name] = given_value
    url = field.path.format(**{k: str(v) for k, v in path_values.items()})
    if field.where == "form" or any(
        f.where == "form" for f in FIELDS if f.path == field.path and f.method == field.method
    ):
        return url, query, body, "multipart"
    return url, query, body, "application/json"


def _send(client: Client, field: Field_, value: object, objects: dict):  # type: ignore[no-untyped-def]
    url, query, body, content = _request(field, value, objects)
    if query:
        url = f"{url}?{urlencode({k: str(v) for k, v in query.items()}, doseq=False)}"
    call = getattr(client, field.method)
    if field.method in ("get", "delete") and not body:
        return call(url)
    if content == "multipart":
        data = {
            k: SimpleUploadedFile("f.csv", v) if isinstance(v, bytes) else str(v)
            for k, v in body.items()
        }
        return call(url, data)
    return call(url, body, content_type=content)


def hostile(kind: str) -> st.SearchStrategy:
    ids = st.one_of(
        st.sampled_from(BIG_IDS),
        st.integers(min_value=2**63, max_value=2**200),
        st.integers(max_value=0, min_value=-(2**200)),
    )
    offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
    edge_years = st.one_of(st.just(1), st.just(9999), st.integers(1, 9999))
    dates = st.one_of(
        st.sampled_from(FAR_DATES),
        st.builds(
            lambda year, day, zone: (
                (
                    datetime(year, 1, 1) + timedelta(days=day)
                    if year < 9999 or day < 364
                    else datetime(9999, 12, 31, 23, 59, 59)
                )
                .replace(tzinfo=zone)
                .isoformat()
            ),
            edge_years,
            st.integers(0, 364),
            offsets,
        ),
    )
    controls = st.one_of(
        st.sampled_from(CONTROLS),
        st.builds(
            lambda a, c, b: a + c + b,
            st.text(max_size=5),
            st.characters(codec="utf-8", categories=["Cc"]).filter(lambda c: c not in "\t\n\r"),
            st.text(max_size=5),
        ),
    )
    return {
        "id": ids,
        "ids": st.lists(ids, min_size=1, max_size=3),
        "date": dates,
        "text": controls,
        "texts": st.lists(controls, min_size=1, max_size=3),
        "text-values": st.dictionaries(st.sampled_from(["ville", "x\x00"]), controls, min_size=1),
    }[kind]


def test_every_parameter_has_a_valid_value() -> None:
    required = {f.name for f in FIELDS if f.required}
    assert required <= set(VALID), f"give these a valid value in VALID: {required - set(VALID)}"
    # the fields the issue found answering 500: each is here
    listed = {str(f) for f in HOSTILE_FIELDS}
    for expected in [
        "get /api/v1/calls query:since",
        "get /api/v1/calls query:until",
        "get /api/v1/calls query:number",
        "post /api/v1/contacts json:groups",
        "patch /api/v1/groups/{group_id} json:add",
        "get /api/v1/campaigns query:q",
        "get /api/v1/campaigns query:tag",
        "delete /api/v1/optouts/{number} path:number",
        "post /api/v1/contacts json:name",
    ]:
        assert expected in listed, expected


@pytest.mark.django_db
@pytest.mark.parametrize("field", HOSTILE_FIELDS, ids=str)
def test_a_valid_request_is_accepted_before_it_is_made_hostile(
    field: Field_, objects: dict, bearer: str
) -> None:
    # Each hostile request below differs from this one in one field only: this one must get
    # past validation, or the hostile value would never reach the code it is meant to test.
    client = Client(HTTP_AUTHORIZATION=bearer)
    value = (
        VALID_OPTIONAL.get(f"{field.where}:{field.name}")
        or VALID.get(field.name)
        or (lambda o: None)
    )(objects)
    if value is None:
        return  # an optional field: the request without it is the valid one
    response = _send(client, field, value, objects)
    assert response.status_code < 300 or response.status_code in (404, 409), (
        str(field),
        response.status_code,
        response.content[:300],
    )


@pytest.mark.django_db
@pytest.mark.parametrize("field", HOSTILE_FIELDS, ids=str)
def test_every_parameter_refuses_hostile_values_in_the_json_shape(
    field: Field_, objects: dict, bearer: str
) -> None:
    client = Client(HTTP_AUTHORIZATION=bearer, raise_request_exception=False)

    @given(value=hostile(field.kind))
    @example(
        value={
            "id": 2**63,
            "ids": [2**63],
            "date": FAR_DATES[0],
            "text": "a\x00b",
            "texts": ["a\x00b"],
            "text-values": {"ville": "a\x00b"},
        }[field.kind]
    )
    @settings(
        max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    def check(value: object) -> None:
        response = _send(client, field, value, objects)
        assert response.status_code < 500, (str(field), repr(value), response.status_code)
        assert response["Content-Type"].startswith("application/json"), (str(field), repr(value))
        if response.status_code >= 400:
            error = response.json()
            assert error["code"] and error["message"], error

    check()
