"""The hostile-input table (test_hostile_input.BAD_SENDS) through issue 20's entry points:
a recurring send by API, form and command line; the auto-reply and dynamic group inputs."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.directory.models import Group
from smsdesk.messaging.models import AutoReply, Recurrence
from tests.core.test_hostile_input import (  # noqa: F401 (an autouse fixture)
    BAD_SENDS,
    GOOD_NUMBER,
    IDS,
    _cli_fails,
    keep_the_test_database_open,
    nothing_stored,
)

REPEAT = {"every": "week", "on": ["mon"], "at": "09:00"}
# A recurring send has no sending date: the cases whose only fault is the date do not apply
# to the form and the command line (the API refuses send_at with repeat).
BAD_REPEATS = [c for c in BAD_SENDS if (c[1], c[2]) != ("x", [GOOD_NUMBER])]
REPEAT_IDS = [c[0] for c in BAD_REPEATS]


@pytest.fixture
def api(operator: User) -> Client:
    from smsdesk.accounts import services as accounts

    _token, raw = accounts.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def nothing_recurring() -> None:
    nothing_stored()
    assert not Recurrence.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case,text,numbers,send_at", BAD_SENDS, ids=IDS)
def test_api_repeat_refuses_with_a_json_error(api: Client, case, text, numbers, send_at) -> None:  # type: ignore[no-untyped-def]
    body = {"to": numbers, "text": text, "repeat": REPEAT, "send_at": send_at}
    response = api.post("/api/v1/messages", body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["message"]
    nothing_recurring()


@pytest.mark.django_db
@pytest.mark.parametrize("case,text,numbers,send_at", BAD_REPEATS, ids=REPEAT_IDS)
def test_new_sms_repeat_shows_the_errors(client_bob: Client, case, text, numbers, send_at) -> None:  # type: ignore[no-untyped-def]
    data = {
        "text": text,
        "numbers": "\n".join(numbers),
        "repeat": "on",
        "every": "week",
        "on": "mon",
        "repeat_at": "09:00",
    }
    response = client_bob.post("/sms/new/", data)
    assert response.status_code == 400
    assert (
        "invalid-feedback" in response.content.decode()
        or "alert-danger" in response.content.decode()
    )
    nothing_recurring()


@pytest.mark.django_db
@pytest.mark.parametrize("case,text,numbers,send_at", BAD_REPEATS, ids=REPEAT_IDS)
def test_cli_send_every_refuses_in_one_line(capsys, case, text, numbers, send_at) -> None:  # type: ignore[no-untyped-def]
    _cli_fails(
        capsys,
        "send",
        "--to",
        *numbers,
        "--text",
        text,
        "--every",
        "week",
        "--on",
        "mon",
        "--at",
        "09:00",
    )
    nothing_recurring()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        [
            "send",
            "--to",
            "0612345678",
            "--text",
            "x",
            "--every",
            "week",
            "--on",
            "mon\x00",
            "--at",
            "09:00",
        ],
        ["send", "--to", "0612345678", "--text", "x", "--every", "day", "--at", "09:00\x00"],
        [
            "send",
            "--to",
            "0612345678",
            "--text",
            "x",
            "--every",
            "day",
            "--at",
            "09:00",
            "--until",
            "9999-12-31",
        ],
        [
            "send",
            "--to",
            "0612345678",
            "--text",
            "x",
            "--every",
            "day",
            "--at",
            "09:00",
            "--times",
            "0",
        ],
        ["autoreply", "add", "a\x00b", "--text", "x"],
        ["autoreply", "add", "horaires", "--text", "x\x1b[2J"],
        ["autoreply", "add", "horaires", "--text", "x", "--delay", "0"],
        ["autoreply", "add", "horaires", "--text", "x", "--group", "nope"],
        ["autoreply", "add", "caf\udce9", "--text", "x"],
        ["autoreply", "delete", "999"],
    ],
    ids=repr,
)
def test_every_automation_command_refuses_in_one_line(capsys, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    _cli_fails(capsys, *args)
    nothing_recurring()
    assert not AutoReply.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"keyword": "a\x00b", "text": "x"},
        {"keyword": "x", "text": "\x00"},
        {"keyword": "x" * 201, "text": "x"},
        {"keyword": "x", "text": "x", "match": "regex"},
        {"keyword": "x", "text": "x", "delay_minutes": 0},
        {"keyword": "x", "text": "x", "delay_minutes": 10**12},
        {"keyword": "x", "text": "x", "group": 2**63},
        {"keyword": "x", "text": "x", "group": 999},
        {"keyword": ["x"], "text": "x"},
    ],
    ids=repr,
)
def test_api_autoreplies_refuse_hostile_input(admin_user: User, body: dict) -> None:
    from smsdesk.accounts import services as accounts

    _token, raw = accounts.create_token(user=admin_user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post("/api/v1/autoreplies", body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert not AutoReply.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rule",
    [
        {"all": [{"field": "name", "op": "equals", "value": "a\x00b"}]},
        {"all": "x"},
        {"any": [None]},
        {"all": [[]]},
    ],
    ids=repr,
)
def test_dynamic_group_editor_and_api_refuse_hostile_rules(
    client_bob: Client, api: Client, rule
) -> None:  # type: ignore[no-untyped-def]
    response = api.post(
        "/api/v1/groups", {"name": "G", "rule": rule}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["field"] == "rule"
    page = client_bob.post(
        "/directory/groups/new-dynamic/",
        {"name": "G", "field-0": "name", "op-0": "equals", "value-0": "a\x00b"},
    )
    assert page.status_code == 400
    assert not Group.objects.exists()
