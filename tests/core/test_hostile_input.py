"""Hostile and careless input, through every entry point: the API, each form, each command.

One table of inputs; for each entry point the same promise: no 5xx (no traceback on the
command line), a message that says what is wrong, and nothing stored. Runs on SQLite and on
PostgreSQL (where a NUL character used to reach the database and fail with a 500).
"""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import ApiToken, User
from smsdesk.cli import main
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Campaign, Conversation, Message
from smsdesk.worker.models import GatewayStoreItem

GOOD_NUMBER = "06 12 34 56 78"

# (case, text, numbers, send_at as a person or a program would give it)
BAD_SENDS = [
    ("far date, UTC", "x", [GOOD_NUMBER], "9999-12-31T23:59:59+00:00"),
    ("far date, -14:00", "x", [GOOD_NUMBER], "9999-12-31T23:59:59-14:00"),
    ("first day of the calendar, +14:00", "x", [GOOD_NUMBER], "0001-01-01T00:00:00+14:00"),
    ("two years ahead", "x", [GOOD_NUMBER], "2099-01-01T09:00:00+01:00"),
    ("NUL in the text", "Bon\x00jour", [GOOD_NUMBER], None),
    ("escape in the text", "\x1b[2J effacé", [GOOD_NUMBER], None),
    ("NUL in a number", "x", ["06 12 34\x00 56 78"], None),
    ("letter O in a number", "x", ["O6 12 34 56 78"], None),
    ("letters only", "x", ["A/B"], None),
    ("a path as a number", "x", ["../"], None),
    ("300 characters as a number", "x", ["9" * 300], None),
    ("huge text", "a" * 100_000, [GOOD_NUMBER], None),
    ("empty text, bad number, past date", "", ["12"], "2001-01-01T00:00:00+00:00"),
]
IDS = [case[0] for case in BAD_SENDS]


def nothing_stored() -> None:
    assert not Message.objects.exists()
    assert not Campaign.objects.exists()


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    ApiToken.objects.update(name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


# --- the API --------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("case,text,numbers,send_at", BAD_SENDS, ids=IDS)
def test_api_refuses_with_a_json_error(api: Client, case, text, numbers, send_at) -> None:  # type: ignore[no-untyped-def]
    body = {"to": numbers, "text": text} | ({"send_at": send_at} if send_at else {})
    response = api.post("/api/v1/messages", body, content_type="application/json")
    assert 400 <= response.status_code < 500, (case, response.status_code)
    error = response.json()
    assert error["code"] and error["message"], case
    nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"to": "0612345678", "text": "x"},  # a string, not a list
        {"to": [612345678], "text": "x"},
        {"to": ["0612345678"], "text": 42},
        {"to": ["0612345678"], "text": "x", "send_at": 1e300},
        {"to": ["0612345678"], "text": None},
        {"to": [], "text": "x"},
        [],
        "text",
    ],
    ids=lambda b: repr(b)[:40],
)
def test_api_refuses_wrong_types(api: Client, body) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/api/v1/messages", body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json()["code"] in ("invalid_input", "bad_json", "no_recipients")
    nothing_stored()


@pytest.mark.django_db
def test_api_malformed_json_is_400_in_the_documented_shape(api: Client) -> None:
    response = api.post(
        "/api/v1/messages", b'{"to": [', content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "bad_json",
        "field": None,
        "message": "The request body is not valid JSON.",
    }
    french = api.post("/api/v1/messages", b'{"to": [', content_type="application/json")
    assert french.json()["message"] == "Le corps de la requête n’est pas du JSON valide."


@pytest.mark.django_db
def test_api_a_body_over_the_limit_is_413_in_the_documented_shape(api: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = b'{"to": ["0612345678"], "text": "' + b"a" * 20_000 + b'"}'
    response = api.post("/api/v1/messages", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    nothing_stored()


# What a text-search engine would read as syntax (FTS5, tsquery), URL-encoded: each must be
# searched as plain words (see messaging/words.py), never fail.
SEARCH_SYNTAX = [
    "%22",  # a double quote
    "%22a%22+OR+b*+NEAR(c",
    "*",
    "a*",
    "-b",
    "NOT",
    "AND+OR",
    "NEAR(",
    "body:x",
    "l%27%C3%A9t%C3%A9",  # l'été
    "%27%27%27",  # three apostrophes
    "a%26b%7C!c:*%3C-%3E",  # a&b|!c:*<->
    "%F0%9F%98%80",  # an emoji
    "%5C",  # a backslash
    "%22*" * 50,  # 100 characters of syntax
    "%C3%A9" * 100,
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        *[f"/api/v1/messages?q={q}" for q in SEARCH_SYNTAX],
        "/api/v1/messages?q=%ff%fe",
        "/api/v1/messages?before=99999999999999999999999",
        "/api/v1/messages?limit=-1",
        "/api/v1/messages?direction=sideways",
        "/api/v1/messages/99999999999999999999999",
        "/api/v1/messages/0",
    ],
)
def test_api_reads_never_fail(api: Client, url: str) -> None:
    response = api.get(url)
    assert response.status_code in (200, 404, 422), url
    assert "code" in response.json() or "messages" in response.json()


# A control character in any query parameter is refused before any view runs: 400, naming
# the parameter (the web: the error page; the API: its JSON error). On PostgreSQL a NUL used
# to reach the query and fail with a 500.
CONTROL_QUERIES = ["q=%00", "q=%1b%5b2J", "tag=%00", "number=06%0012", "sort=%07", "a%00=1"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", CONTROL_QUERIES)
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/messages",
        "/api/v1/campaigns",
        "/api/v1/calls",
        "/api/v1/contacts",
        "/api/v1/optouts",
    ],
)
def test_api_refuses_a_control_character_in_the_query(api: Client, url: str, query: str) -> None:
    response = api.get(f"{url}?{query}")
    assert response.status_code == 400, (url, query)
    error = response.json()
    assert error["code"] == "control_character"
    name = query.split("=")[0]
    assert error["field"] == (name if "%" not in name else None), error
    assert "U+00" in error["message"]


# --- the forms ------------------------------------------------------------------------------
def _form_date(send_at: str | None) -> str:
    return send_at[:16] if send_at else ""  # datetime-local: 9999-12-31T23:59


@pytest.mark.django_db
@pytest.mark.parametrize("case,text,numbers,send_at", BAD_SENDS, ids=IDS)
def test_new_sms_form_shows_the_errors(client_bob: Client, case, text, numbers, send_at) -> None:  # type: ignore[no-untyped-def]
    response = client_bob.post(
        "/sms/new/",
        {"text": text, "numbers": "\n".join(numbers), "send_at": _form_date(send_at)},
    )
    assert response.status_code == 400, case
    assert "invalid-feedback" in response.content.decode(), case
    nothing_stored()


@pytest.mark.django_db
def test_new_sms_form_shows_every_error_at_once(client_bob: Client) -> None:
    response = client_bob.post(
        "/sms/new/", {"text": "", "numbers": "12", "send_at": "2001-01-01T00:00"}
    )
    html = response.content.decode()
    assert html.count('class="invalid-feedback d-block"') == 3
    assert "vide" in html and "12" in html and "passé" in html


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["Oui\x00", "\x07", "a" * 6000])
def test_reply_form_refuses_and_stores_nothing(client_bob: Client, text: str) -> None:
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Allô ?", received_at=_now()
    )
    conversation = Conversation.objects.get()
    response = client_bob.post(
        f"/sms/conversations/{conversation.id}/reply/", {"text": text}, follow=True
    )
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.django_db
def test_token_form_refuses_a_control_character(client_bob: Client) -> None:
    response = client_bob.post("/accounts/me/tokens/", {"name": "CRM\x00"}, follow=True)
    assert response.status_code == 200
    assert "caractère de contrôle" in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["eve\x00", "eve\x1b", "", "x" * 151, "alice"], ids=repr)
def test_user_form_refuses_and_creates_nobody(admin_user: User, username: str) -> None:
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/accounts/users/", {"username": username, "role": "operator", "password": ""}
    )
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/sms/sent/",
        "/sms/received/",
        "/sms/unread/",
        "/sms/conversations/",
        "/stop/",
        "/calls/",
        "/directory/contacts/",
        "/directory/groups/",
    ],
)
@pytest.mark.parametrize("q", ["%ff%fe", "A/B", "../", "9" * 300, *SEARCH_SYNTAX])
def test_every_list_search_survives(client_bob: Client, url: str, q: str) -> None:
    assert client_bob.get(f"{url}?q={q}&sort=%ff&page=-1&per_page=1e99").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("query", CONTROL_QUERIES)
@pytest.mark.parametrize(
    "url",
    [
        "/sms/sent/",
        "/sms/campaigns/",
        "/sms/conversations/",
        "/sms/conversations/with/",
        "/stop/",
        "/calls/",
        "/directory/contacts/",
        "/",
    ],
)
def test_every_page_refuses_a_control_character_in_the_query(
    client_bob: Client, url: str, query: str
) -> None:
    response = client_bob.get(f"{url}?{query}")
    assert response.status_code == 400, (url, query)
    html = response.content.decode()
    assert 'id="error-page"' in html and "caractère de contrôle invisible" in html
    assert "sd-sidebar" in html  # the page in the app's layout, with the menu


# Cursors are opaque tokens the page wrote, but anyone can type one: each of these is refused
# and the list starts over at its first page, never a 500.
def _token(value: object) -> str:
    import base64
    import json

    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE_CURSORS = [
    "%ff%fe",
    "!!!",
    "A" * 5000,
    "e30",  # {}
    _token(["-date", "not a date", 1]),
    _token(["-date", "2026-01-01T00:00:00", 1]),  # no time zone
    _token(["-date", "2026-01-01T00:00:00+00:00", -1]),
    _token(["-date", "2026-01-01T00:00:00+00:00", 10**30]),
    _token(["-date", "2026-01-01T00:00:00+00:00", True]),
    _token(["-date", "2026-01-01T00:00:00+00:00", "1"]),
    _token(["number", "+336\u0000", "2026-01-01T00:00:00+00:00", 1]),
    _token(["number", ["x"], "2026-01-01T00:00:00+00:00", 1]),
    _token(["name", "x" * 5000, 1]),
    _token(["name", {"a": 1}, 1]),
    _token(["sort", 1]),
    _token([[[[[[]]]]]]),
    _token(["-date", "0001-01-01T00:00:00+14:00", 1]),  # before year 1 in UTC
    _token("a string"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/sms/sent/",
        "/sms/received/",
        "/sms/unread/",
        "/sms/conversations/",
        "/sms/campaigns/",
        "/stop/",
        "/stop/history/",
        "/calls/",
        "/directory/contacts/",
        "/directory/groups/",
    ],
)
@pytest.mark.parametrize("cursor", HOSTILE_CURSORS)
def test_every_list_refuses_a_bad_cursor_with_its_first_page(
    client_bob: Client, url: str, cursor: str
) -> None:
    for param in ("after", "before"):
        response = client_bob.get(f"{url}?{param}={cursor}&last=%ff")
        assert response.status_code == 200, (url, param, cursor)
        assert 'rel="prev"' not in response.content.decode()  # the first page


# --- senders from the network ---------------------------------------------------------------
ODD_SENDERS = ["A/B", "../", "..", "9" * 300, "", "   ", "BANK\x00", "<script>", "?x=1#y", "%2F"]


def _now():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.now()


@pytest.mark.django_db
@pytest.mark.parametrize("sender", ODD_SENDERS, ids=repr)
def test_odd_senders_are_stored_shown_and_linked(client_bob: Client, sender: str) -> None:
    message = receiving.receive_inbound(
        gateway="simulator", sender=sender, text="STOP\x00 now", received_at=_now()
    )
    assert "\x00" not in message.body and "\x00" not in message.peer
    assert 1 <= len(message.peer) <= 32
    for url in ("/sms/received/", "/sms/unread/", "/sms/conversations/", "/stop/", "/"):
        assert client_bob.get(url).status_code == 200, url
    conversation = Conversation.objects.get()
    page = client_bob.get(f"/sms/conversations/{conversation.id}/")
    assert page.status_code == 200
    # the lists link through the query string, to the conversation's id
    link = client_bob.get("/sms/received/", follow=True)
    assert link.status_code == 200
    found = client_bob.get("/sms/conversations/with/", {"number": message.peer})
    assert found.status_code == 302
    assert found["Location"] == f"/sms/conversations/{conversation.id}/"


@pytest.mark.django_db
def test_a_stop_from_an_odd_sender_is_listed(client_bob: Client) -> None:
    receiving.receive_inbound(gateway="simulator", sender="A/B", text="STOP", received_at=_now())
    html = client_bob.get("/stop/").content.decode()
    assert "/sms/conversations/with/?number=A%2FB" in html


# --- the command line -----------------------------------------------------------------------
@pytest.fixture(autouse=True)
def keep_the_test_database_open(monkeypatch: pytest.MonkeyPatch) -> None:
    # `smsdesk COMMAND` closes the database connections when it ends; run in-process here,
    # that would close the test's own.
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


def _cli_fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code not in (0, None), args
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.django_db
@pytest.mark.parametrize("case,text,numbers,send_at", BAD_SENDS, ids=IDS)
def test_cli_send_refuses_in_one_line(capsys, case, text, numbers, send_at) -> None:  # type: ignore[no-untyped-def]
    at = ["--at", send_at] if send_at else []
    _cli_fails(capsys, "send", "--to", *numbers, "--text", text, *at)
    nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["send", "--to", "0612345678", "--text", "x", "--at", "9999-99-99"],
        ["send", "--to", "0612345678", "--text", "caf\udce9"],  # Latin-1 é in a UTF-8 shell
        ["send", "--to", "06\udcff", "--text", "x"],
        ["createuser", "eve\x00"],
        ["createuser", "eve\udce9"],
        ["createuser", ""],
        ["createtoken", "nobody\x00"],
        ["createtoken", "nobody"],
        ["simulate", "inbound", "--from", "+33698765432\x00", "--text", "x"],
        ["simulate", "inbound", "--from", "+33698765432", "--text", "a\x00b"],
        ["simulate", "inbound", "--from", "9" * 300, "--text", "x"],
        ["simulate", "call", "--from", ""],
    ],
    ids=repr,
)
def test_every_command_refuses_in_one_line(capsys, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    _cli_fails(capsys, *args)
    nothing_stored()
    assert not User.objects.exists() and not ApiToken.objects.exists()
    assert not GatewayStoreItem.objects.exists()  # nothing injected into the simulator


@pytest.mark.django_db
def test_createtoken_refuses_a_control_character_in_the_label(capsys, operator: User) -> None:  # type: ignore[no-untyped-def]
    _cli_fails(capsys, "createtoken", "bob", "--name", "ci\x1b")
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["-14:00", "+14:00", "-12:00", "+05:45", "Z"])
def test_any_offset_stores_and_reads_back_the_same_instant(api: Client, offset: str) -> None:
    from datetime import datetime, timedelta

    from django.utils import timezone

    local = (timezone.now() + timedelta(days=20)).replace(microsecond=0)
    given = datetime.fromisoformat(f"{local.strftime('%Y-%m-%dT%H:%M:%S')}{offset}")
    response = api.post(
        "/api/v1/messages",
        {"to": [GOOD_NUMBER], "text": "x", "send_at": given.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 201
    message_id = response.json()["messages"][0]["id"]
    read = api.get(f"/api/v1/messages/{message_id}").json()
    assert datetime.fromisoformat(read["send_at"]) == given
    assert Message.objects.get().due_at == given
    assert api.get("/api/v1/messages").status_code == 200
    conversation = Conversation.objects.get()
    client = Client()
    client.force_login(User.objects.get(username="bob"))
    assert client.get(f"/sms/conversations/{conversation.id}/").status_code == 200
    assert client.get("/sms/sent/").status_code == 200


@pytest.mark.django_db
def test_api_lists_every_refusal_in_the_detail(api: Client) -> None:
    body = {"to": ["12"], "text": "", "send_at": "2001-01-01T00:00:00Z"}
    error = api.post("/api/v1/messages", body, content_type="application/json").json()
    codes = [d.get("code") for d in error["detail"] if "code" in d]
    assert codes == ["empty_text", "invalid_number", "send_at_in_past"]
    assert {"value": "12", "reason": "trop court"} in error["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "send_at", ["9999-12-31T23:59", "0001-01-01T00:00", "demain", "\x00", "2026-02-30T10:00"]
)
def test_the_live_counter_survives_any_date(client_bob: Client, send_at: str) -> None:
    response = client_bob.post(
        "/sms/new/count/", {"text": "Promo\x00", "commercial": "on", "send_at": send_at}
    )
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("sender", ["A/B\x00", "", "9" * 300])
def test_a_long_sms_in_parts_with_controls_is_stored_whole(client_bob: Client, sender: str) -> None:
    from smsdesk.gateways.base import Concat

    first = receiving.receive_inbound(
        gateway="modem",
        sender=sender,
        text="Bon\x00",
        received_at=_now(),
        concat=Concat(ref=7, total=2, seq=1),
    )
    assert first is None  # waiting for the other part
    whole = receiving.receive_inbound(
        gateway="modem",
        sender=sender,
        text="jour\x1b",
        received_at=_now(),
        concat=Concat(ref=7, total=2, seq=2),
    )
    assert whole is not None and whole.body == "Bon\ufffdjour\ufffd"
    assert client_bob.get("/sms/received/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/contacts?q=%ff",
        "/api/v1/contacts?limit=99999999999999999999999",
        "/api/v1/contacts?after=%ff%fe",
        "/api/v1/contacts?after=" + _token(["name", "\u0000", 1]),
        "/api/v1/contacts?after=" + _token(["name", "x", 10**30]),
        "/api/v1/groups?after=" + _token(["name", ["x"]]),
        "/api/v1/groups?after=" + "A" * 5000,
        "/api/v1/messages?before=-1",
        "/api/v1/messages?before=99999999999999999999999",
        "/api/v1/optouts?before=%ff",
        "/api/v1/calls?before=99999999999999999999999",
        "/api/v1/campaigns?before=abc",
        "/api/v1/groups?q=%ff%fe",
        "/api/v1/contacts/99999999999999999999999",
    ],
)
def test_directory_api_reads_never_fail(api: Client, url: str) -> None:
    assert api.get(url).status_code in (200, 404, 422), url


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,body,field",
    [
        ("/api/v1/contacts", {"name": "Du\x00pont", "number": "0612345678"}, "name"),
        (
            "/api/v1/contacts",
            {"name": "D", "first_name": "\x1bJo", "number": "0612345678"},
            "first_name",
        ),
        ("/api/v1/groups", {"name": "Club\x00"}, "name"),
    ],
)
def test_a_control_character_in_a_name_is_refused_naming_the_field(
    api: Client, url: str, body: dict, field: str
) -> None:
    # README: refused with the field and the position, never silently removed.
    from smsdesk.directory.models import Contact, Group

    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()
    assert error["field"] == field and "U+00" in error["message"], error
    assert not Contact.objects.exists() and not Group.objects.exists()


@pytest.mark.django_db
def test_the_contact_form_refuses_a_control_character_in_the_name(client_bob: Client) -> None:
    from smsdesk.directory.models import Contact

    # (a NUL is refused by Django's own field; an escape reaches the service)
    response = client_bob.post(
        "/directory/contacts/new/", {"name": "Du\x1bpont", "number": "0612345678"}
    )
    assert response.status_code == 400
    assert "caractère de contrôle invisible (U+001B) en position 3" in response.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,body",
    [
        ("/api/v1/contacts", {"name": "x", "number": "0612345678", "groups": [2**63]}),
        ("/api/v1/groups/{group}", {"add": [2**63]}),
        ("/api/v1/groups/{group}", {"remove": [10**30]}),
        ("/api/v1/groups", {"name": "g2", "contacts": [2**64]}),
    ],
)
def test_api_refuses_ids_no_column_holds_with_422(api: Client, url: str, body: dict) -> None:
    from smsdesk.directory import services as directory

    group = directory.create_group(name="g")
    method = api.patch if "{group}" in url else api.post
    response = method(url.format(group=group.id), body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_input"


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00%2B23:59", "9999-12-31T23:59:59Z"]
)
def test_api_refuses_dates_outside_the_calendar_with_422(
    api: Client, param: str, value: str
) -> None:
    response = api.get(f"/api/v1/calls?{param}={value}")
    assert response.status_code == 422
    error = response.json()
    assert error["field"] == param and "0001-01-02" in error["message"], error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/v1/optouts/..%2F..%2Fetc", "/api/v1/nothing", "/api/v1/contacts/1/x", "/api/x"]
)
def test_an_unknown_api_address_is_the_json_404(api: Client, url: str) -> None:
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    for response in (
        api.get(url, **english),
        api.delete(url, **english),
        Client().get(url, **english),
    ):
        assert response.status_code == 404, url
        assert response.json() == {"code": "not_found", "field": None, "message": "Not found."}
    assert api.get(url).json()["message"] == "Introuvable."  # French by default


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["contacts", "groups"])
@pytest.mark.parametrize("value", ["9223372036854775808", "²", "-1"])
def test_new_sms_ignores_ids_no_column_holds(client_bob: Client, field: str, value: str) -> None:
    # The form's pickers write ids; anything else was not typed by a person and is ignored.
    response = client_bob.post("/sms/new/", {"text": "x", field: value})
    assert response.status_code == 400  # no recipient left
    nothing_stored()


@pytest.mark.django_db
def test_directory_api_refuses_huge_ids_in_a_send(api: Client) -> None:
    body = {"text": "x", "contacts": [10**30], "groups": [-1]}
    response = api.post("/api/v1/messages", body, content_type="application/json")
    assert response.status_code == 422
    nothing_stored()


# --- every page and form, from the URL conf ---------------------------------------------------
# Every address the URL conf serves (but the API, fuzzed from its schema in
# tests/api/test_schema_fuzz.py, the log-out and the language switch) is asked with GET and
# POST, its ids in the path replaced by real ones then by ones no column holds, and every
# parameter name a page reads (the fields of every form class, and each name the views read
# from GET or POST, found in the source) set to a hostile value: ids of 2**63 and beyond,
# digits `int` cannot read ("²"), far dates with odd offsets, control characters. Never a
# 5xx. A page or a parameter added later is in the URL conf or the source, hence here.
import importlib  # noqa: E402
import re  # noqa: E402
from datetime import datetime as dt  # noqa: E402
from datetime import timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from django import forms as django_forms  # noqa: E402
from django.urls import URLPattern, URLResolver, get_resolver  # noqa: E402
from hypothesis import HealthCheck, example, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from smsdesk.core.lists import CURSOR_PARAMS  # noqa: E402

SOURCE = Path(__file__).resolve().parents[2] / "smsdesk"
SKIPPED_ROUTES = ("api/", "^api/", "accounts/logout/", "i18n/setlang/")


def routes() -> list[tuple[str, URLPattern]]:
    found = []

    def walk(patterns: list, prefix: str) -> None:  # type: ignore[type-arg]
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif not (prefix + str(p.pattern)).startswith(SKIPPED_ROUTES):
                found.append((prefix + str(p.pattern), p))

    walk(get_resolver().url_patterns, "")
    return found


def parameter_names() -> list[str]:
    names = {"sort", "q", "per_page", *CURSOR_PARAMS}
    for module in SOURCE.glob("*/forms.py"):
        loaded = importlib.import_module(f"smsdesk.{module.parent.name}.forms")
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, django_forms.Form):
                names |= set(value.base_fields)
    read = re.compile(
        r"\b(?:GET|POST|data|source)\.(?:get|getlist)\(\s*\"(\w+)\"|_ids\(\s*[\w.]+,\s*\"(\w+)\""
    )
    for path in SOURCE.rglob("*.py"):
        for match in read.finditer(path.read_text(encoding="utf-8")):
            names.add(match.group(1) or match.group(2))
    return sorted(names)


ROUTES = routes()
NAMES = parameter_names()
WEB_IDS = ["9223372036854775808", "99999999999999999999999", "²", "٣", "-1", "0", "1e3"]
WEB_DATES = ["9999-12-31T23:59", "0001-01-01T00:00", "9999-12-31T23:59:59-23:59", "0001-01-01"]


def web_hostile() -> st.SearchStrategy[str]:
    offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
    far = st.builds(
        lambda year, zone: dt(
            year, 12 if year > 1 else 1, 31 if year > 1 else 1, tzinfo=zone
        ).isoformat(),
        st.sampled_from([1, 9999]),
        offsets,
    )
    return st.one_of(
        st.sampled_from(WEB_IDS + WEB_DATES),
        st.integers(min_value=2**63, max_value=2**128).map(str),
        far,
        st.builds(lambda c: f"a{c}b", st.sampled_from(["\x00", "\x1b", "\x7f", "\x08", "\x9f"])),
    )


@pytest.fixture
def web_objects(admin_user: User) -> dict:
    from smsdesk.accounts.models import User as UserModel
    from smsdesk.directory import services as directory
    from smsdesk.directory import uploads
    from smsdesk.directory.models import ContactField
    from smsdesk.optout import services as optout
    from smsdesk.optout.models import OptOut

    carol = UserModel.objects.create_user("carol", password="correct horse 42")
    contact = directory.create_contact(name="Dupont", number="0698765432")
    group = directory.create_group(name="Adhérents", contacts=[contact.id])
    message = receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Bonjour", received_at=_now()
    )
    campaign = sending.create_campaign(
        author=admin_user,
        body="x",
        targets=directory.Targets(numbers=["0611223344"]),
        send_at=None,
    )
    from smsdesk.webhooks import services as webhooks
    from smsdesk.webhooks.models import Delivery

    endpoint, _secret = webhooks.create_endpoint(
        by=admin_user, url="https://93.184.216.34/", events=["optout.added"]
    )
    optout.add_number("0655555555", by=admin_user, source="api", reason="test")
    token, _raw = accounts.create_token(user=admin_user)
    from smsdesk.messaging import autoreplies, recurring

    recurrence = recurring.create_recurrence(
        author=admin_user,
        body="x",
        targets=directory.Targets(numbers=["0611223344"]),
        repeat=recurring.check_repeat(every="day", at="09:00"),
    )
    rule = autoreplies.create_rule(by=admin_user, keyword="horaires", text="9h-18h")
    from smsdesk.directory import imports

    with_file = sending.create_campaign(
        author=admin_user,
        body="x",
        recipient_file=imports.read_recipients(b"Numero\n0611223344\n06 00\n"),
    )
    return {
        "report_id": with_file.invalid_report_id,
        "recurrence_id": recurrence.id,
        "rule_id": rule.id,
        "endpoint_id": endpoint.id,
        "delivery_id": Delivery.objects.get().id,
        "token_id": token.id,
        "user_id": carol.id,
        "campaign_id": campaign.id,
        "message_id": campaign.created_messages[0].id,
        "conversation_id": Conversation.objects.get(peer=message.peer).id,
        "contact_id": contact.id,
        "group_id": group.id,
        "entry_id": OptOut.objects.get().id,
        "field_id": ContactField.objects.create(key="ville", label="Ville").id,
        "token": uploads.save(b"Nom,Numero\nA,0612345678\n", user_id=admin_user.id, filename="a"),
        "kind": "contacts",
        "uidb64": "MQ",  # a password reset link's user (tests/accounts/test_password_reset.py)
        "slug": "default",  # an organisation (the platform pages)
        "name": "simulator",  # a line (gateways/lines/<name>/...)
        "line": "simulator",  # a provider's callback (tests/worker/test_http_callbacks.py)
        "secret": "0" * 32,
    }


def _url(route: str, pattern: URLPattern, values: dict, hostile_id: str | None = None) -> str:
    url = "/" + route
    for name, converter in pattern.pattern.converters.items():
        value = values[name]
        if hostile_id is not None and type(converter).__name__ == "IntConverter":
            value = hostile_id
        url = re.sub(rf"<\w+:{name}>", str(value), url)
    return url


def test_the_sweep_knows_every_page_and_parameter() -> None:
    assert len(ROUTES) > 50
    for name in ("contacts", "groups", "send_at", "tag", "number", "contact", "keep", "after"):
        assert name in NAMES, name


@pytest.mark.django_db
@pytest.mark.parametrize("route,pattern", ROUTES, ids=[r for r, _p in ROUTES])
def test_every_page_survives_hostile_ids_dates_and_controls(
    admin_user: User, web_objects: dict, route: str, pattern: URLPattern
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    url = _url(route, pattern, web_objects)
    for hostile_id in ("9223372036854775808", "99999999999999999999999"):
        if pattern.pattern.converters:
            for method in ("get", "post"):
                status = getattr(client, method)(_url(route, pattern, web_objects, hostile_id))
                assert status.status_code < 500, (method, route, hostile_id)

    @given(value=web_hostile())
    @example(value="9223372036854775808")
    @example(value="²")
    @example(value="9999-12-31T23:59:59-23:59")
    @example(value="a\x00b")
    @hypothesis_settings(
        max_examples=2, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    def check(value: str) -> None:
        params = dict.fromkeys(NAMES, value)
        get = client.get(url, params)
        assert get.status_code < 500, ("GET", route, repr(value), get.status_code)
        post = client.post(url, params)
        assert post.status_code < 500, ("POST", route, repr(value), post.status_code)

    check()
