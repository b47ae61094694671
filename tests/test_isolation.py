"""Organisations are sealed from each other (issue 16's must-show).

Two organisations hold the SAME data (the same contact names, the same correspondents'
numbers, the same tags, a campaign, a received SMS, a STOP entry, a call each); B has, besides,
a few rows of its own marked "Zorglub" (and the number +33677777777). Then, as A:

- every URL of the URL conf (enumerated from `get_resolver()`, its path parameters filled
  with B's ids) answers for A only: a page about one of B's rows answers exactly as a missing
  row does (same status, same body), a list, a search, an export, a count, the home page, the
  notices never show B's marks; and B's rows are unchanged after A tried every action;
- every API operation (walked from the OpenAPI schema) does the same with A's token;
- every command that takes --org reads and writes A only.

A new URL or API operation gets checked without a line here; an operation needing a body
must have one in API_BODIES, else this test fails (so it cannot be forgotten).
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import ApiToken, Organisation, User
from smsdesk.api.endpoints import api
from smsdesk.calls import services as calls
from smsdesk.calls.models import Call
from smsdesk.core import tenancy
from smsdesk.directory import imports
from smsdesk.directory import services as directory
from smsdesk.directory.models import (
    Contact,
    ContactField,
    Group,
    InvalidNumber,
    InvalidNumberReport,
)
from smsdesk.directory.services import Targets
from smsdesk.gateways.base import InboundSMS
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import autoreplies, receiving, recurring, sending
from smsdesk.messaging.models import (
    AutoReply,
    Campaign,
    Conversation,
    GatewayState,
    Message,
    Recurrence,
)
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOut, OptOutEvent
from smsdesk.webhooks.models import Delivery, Endpoint, Event
from smsdesk.worker import callbacks
from smsdesk.worker.inbound import EventHandler

GATEWAYS = ["line-a=simulator?org=a", "line-b=simulator?org=b"]
SAME = "+33612345678"  # a correspondent of both
STOPPED = "+33699999999"  # on both STOP lists
ONLY_B = "+33677777777"  # B's own correspondent
MARK = "Zorglub"
SEARCH = "Zorg"  # finds B's marked rows (a prefix of MARK); pages echo it, never MARK
MISSING = 987_654_321
PASSWORD = "correct horse 42"
MODELS = (Message, Campaign, Conversation, Contact, Group, ContactField, OptOut, OptOutEvent)
MODELS += (Call, ApiToken, Recurrence, AutoReply, Endpoint, Event)
MODELS += (InvalidNumberReport, InvalidNumber)


def _seed(org: Organisation, line: str, *, extra: bool) -> dict:
    admin = User.objects.create_user(
        f"admin-{org.slug}", password=PASSWORD, role=User.Role.ADMIN, organisation=org
    )
    now = timezone.now()
    field = directory.create_field(label="Ville", key="ville", by=None, org=org)
    contact = directory.create_contact(
        name="Martin", first_name="Zoé", number=SAME, fields={"ville": "Lyon"}, org=org
    )
    group = directory.create_group(name="Clients", contacts=[contact.id], org=org)
    campaign = sending.create_campaign(
        author=admin, org=org, body="Bonjour {prénom}", to=[SAME], tag="promo"
    )
    receiving.receive_inbound(gateway=line, sender=SAME, text="Merci", received_at=now)
    entry = optout.add_number(STOPPED, by=None, org=org, reason="demande")
    call = calls.receive_call(gateway=line, caller=SAME, at=now)
    token, raw = accounts.create_token(user=admin)
    rec = recurring.create_recurrence(
        author=admin,
        org=org,
        body="Rappel",
        targets=Targets(numbers=[SAME]),
        repeat=recurring.check_repeat(every="day", at="09:00"),
    )
    rule = autoreplies.create_rule(by=admin, org=org, keyword="horaires", text="9h-18h", tag="rdv")
    # a send from a file with an invalid number: its report (page, CSV, cleanup, API)
    from_file = sending.create_campaign(
        author=admin,
        org=org,
        body="Fichier",
        recipient_file=imports.read_recipients(f"Numero\n{SAME}\n06 00\n".encode()),
    )
    assert from_file.invalid_report is not None
    # rows as the worker writes them (the address check of create_endpoint needs a DNS)
    endpoint = Endpoint.objects.create(
        organisation=org, url="https://hooks.example/sms", events=["message.received"], secret="s"
    )
    event = Event.objects.create(
        organisation=org, type="message.received", created_at=now, data={"text": "Merci"}
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint, event=event, order_key=SAME, next_attempt_at=now, created_at=now
    )
    if extra:  # B's own rows, marked
        directory.create_contact(name=MARK, number=ONLY_B, org=org)
        # B's own contact with a number smsdesk refuses, and an import that refused it
        Contact.objects.create(name=MARK + " ancien", number="+3360000", organisation=org)
        imports.apply(f"Nom;Numero\n{MARK};06 00 00\n".encode(), org=org, name=MARK)
        directory.create_group(name=MARK, org=org)
        sending.create_campaign(author=admin, org=org, body=f"{MARK} soldes", to=[ONLY_B])
        receiving.receive_inbound(gateway=line, sender=ONLY_B, text=MARK, received_at=now)
        optout.add_number("+33688888888", by=None, org=org, reason=MARK)
        calls.receive_call(gateway=line, caller=ONLY_B, at=now)
    message = campaign.created_messages[0]
    return {
        "org": org,
        "admin": admin,
        "raw_token": raw,
        "ids": {
            "conversation_id": Conversation.objects.for_org(org).get(peer=SAME).id,
            "message_id": message.id,
            "campaign_id": campaign.id,
            "contact_id": contact.id,
            "group_id": group.id,
            "entry_id": entry.id,
            "field_id": field.id,
            "token_id": token.id,
            "user_id": admin.id,
            "call_id": call.id,
            "recurrence_id": rec.id,
            "rule_id": rule.id,
            "report_id": from_file.invalid_report.id,
            "endpoint_id": endpoint.id,
            "webhook_id": endpoint.id,
            "delivery_id": delivery.id,
            "number": ONLY_B if extra else SAME,
            "token": "x" * 24,
            "kind": "contacts",
            "path": "x",
            "name": line,  # a line (Passerelles: pause, resume, routing)
            "uidb64": "MQ",  # a password reset link (answers the same for everyone)
            # a provider's callback: its line and secret (no login; a simulator takes none)
            "line": line,
            "secret": callbacks.secret_for(line),
        },
    }


@pytest.fixture
def world(db, settings):  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    tenancy.sole_organisation()  # the default one, as on an upgraded installation
    a = Organisation.objects.create(name="Cabinet A", slug="a")
    b = Organisation.objects.create(name="Garage B", slug="b")
    return {"a": _seed(a, "line-a", extra=False), "b": _seed(b, "line-b", extra=True)}


def _fingerprint(org: Organisation) -> dict:
    """What B holds, to check that nothing A did changed it."""
    return {
        m.__name__: sorted(
            (r.pk, r.status if hasattr(r, "status") else "") for r in m.objects.for_org(org).all()
        )
        for m in MODELS
    }


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            found += _routes(p, f"{p.namespace}:" if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            found.append((prefix + p.name, p))
    return found


def _url(name: str, pattern: URLPattern, ids: dict) -> str | None:
    wanted = list(pattern.pattern.regex.groupindex)
    missing = [k for k in wanted if k not in ids]
    assert not missing, f"{name}: add a sample for {missing} in _seed"
    return reverse(name, kwargs={k: ids[k] for k in wanted})


def _without_ids(text: str, url: str) -> str:
    """A page with the URL it was asked at and the id it names taken out (the request's
    own id and form keys too): what is left must not depend on whose the id was."""
    text = text.replace(url, "URL")
    text = re.sub(r"(?i)(\bid\b|n°|#)\s*\d+", "ID", text)
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    text = re.sub(r'"X-CSRFToken": "[^"]+"', "", text)
    text = re.sub(r'name="form_key" value="[^"]+"', "", text)
    return re.sub(r"[0-9a-f]{32}", "", text)  # request ids


def _text(response) -> str:  # type: ignore[no-untyped-def]
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _no_mark(name: str, text: str) -> None:
    assert MARK not in text and MARK.lower() not in text, (name, text[:3000])
    assert "77 77 77" not in text and ONLY_B not in text, name


def test_every_url_answers_for_its_organisation_only(world) -> None:  # type: ignore[no-untyped-def]
    a, b = world["a"], world["b"]
    before = _fingerprint(b["org"])
    client = Client()
    client.force_login(a["admin"])
    missing_ids = {k: (MISSING if isinstance(v, int) else v) for k, v in b["ids"].items()}
    missing_ids["number"] = "+33611000000"
    missing_ids["name"] = "line-z"  # a line nobody has
    checked = 0
    for name, pattern in _routes():
        if name.startswith(("api", "platform:")) or name in ("accounts:logout",):
            continue
        theirs = _url(name, pattern, b["ids"])
        absent = _url(name, pattern, missing_ids)
        for method in ("get", "post"):
            client.get("/accounts/me/")  # the notes of the request before: shown there
            got = getattr(client, method)(theirs, {"q": SEARCH})
            client.get("/accounts/me/")
            nothing = getattr(client, method)(absent, {"q": SEARCH})
            body = _text(got)
            if theirs != absent:  # a page about one row: B's answers as a missing one
                assert got.status_code == nothing.status_code, (name, method)
                assert _without_ids(body, theirs) == _without_ids(_text(nothing), absent), (
                    name,
                    method,
                )
            if got.status_code == 200:
                _no_mark(name, body)
            checked += 1
        # without the search too: the lists, the home page, the notices, the exports
        got = client.get(theirs.split("?")[0])
        if got.status_code == 200:
            _no_mark(name, _text(got))
    assert checked > 40
    assert _fingerprint(b["org"]) == before  # nothing of B's changed by A's actions
    line_b = GatewayState.objects.get(name="line-b")  # nor its line (paused, rerouted)
    assert line_b.paused_at is None and line_b.routing == {}
    for export in (
        "/directory/contacts/export/?format=csv",
        "/stop/export/",
        "/sms/notices/?after=0",
    ):
        _no_mark(export, _text(client.get(export)))


# A body for each API operation that needs one (a new operation must be added here).
API_BODIES = {
    ("post", "/api/v1/messages"): {"to": [ONLY_B], "text": "hello"},
    ("post", "/api/v1/campaigns"): {"to": [ONLY_B], "text": "hello"},
    ("post", "/api/v1/contacts"): {"name": "New", "number": "+33655555555"},
    ("patch", "/api/v1/contacts/{contact_id}"): {"name": "Renamed"},
    ("put", "/api/v1/contacts/{contact_id}"): {"name": "Renamed", "number": SAME},
    ("post", "/api/v1/groups"): {"name": "New group"},
    ("patch", "/api/v1/groups/{group_id}"): {"name": "Renamed"},
    ("put", "/api/v1/groups/{group_id}"): {"name": "Renamed"},
    ("post", "/api/v1/optouts"): {"number": ONLY_B, "reason": "test"},
    # a CSV body (text/csv): A's own list gets the number, B's does not
    ("post", "/api/v1/optouts/import"): b"Numero\n+33655555556\n",
    ("post", "/api/v1/autoreplies"): {"keyword": "tarifs", "text": "Voir le site"},
    ("patch", "/api/v1/autoreplies/{rule_id}"): {"text": "Changé", "tag": "pirate"},
    ("patch", "/api/v1/recurring/{recurrence_id}"): {"paused": True},
    # refused before anything is stored (the address does not resolve here): still checked
    ("post", "/api/v1/webhooks"): {"url": "https://hooks.example/b", "events": ["call.received"]},
}


def _operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return [
        (method, path)
        for path, ops in schema["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _api(client: Client, method: str, url: str, body: dict | bytes | None):  # type: ignore[no-untyped-def]
    if isinstance(body, bytes):
        return getattr(client, method)(url, body, content_type="text/csv")
    if method in ("get", "delete"):
        return getattr(client, method)(url + (f"?q={SEARCH}" if method == "get" else ""))
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")


def _fill(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m[1], ids.get("number"))), path)


def test_every_api_operation_answers_for_its_organisation_only(world) -> None:  # type: ignore[no-untyped-def]
    a, b = world["a"], world["b"]
    before = _fingerprint(b["org"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {a['raw_token']}")
    missing_ids = {k: (MISSING if isinstance(v, int) else v) for k, v in b["ids"].items()}
    operations = _operations()
    assert len(operations) >= 10
    for method, path in operations:
        body = API_BODIES.get((method, path))
        if method in ("post", "put", "patch") and body is None and "{" not in path:
            pytest.fail(f"{method.upper()} {path}: give it a body in API_BODIES")
        theirs = _fill(path, b["ids"])
        absent = _fill(path, missing_ids)
        got = _api(client, method, theirs, body)
        if theirs != absent:  # about one row: B's answers exactly as a missing one
            nothing = _api(client, method, absent, body)
            assert got.status_code == nothing.status_code, (method, path)
            if got.status_code >= 400:
                mine, absent_answer = got.json(), nothing.json()
                assert mine["code"] == absent_answer["code"], (method, path)
                assert re.sub(r"\d+", "N", str(mine)) == re.sub(r"\d+", "N", str(absent_answer))
        text = got.content.decode()
        if method == "get":
            _no_mark(path, text)
            data = got.json()
            if "count" in data:  # counts are A's own
                assert data["count"] < 50, path
    assert _fingerprint(b["org"]) == before
    # what A created is A's
    created = Message.objects.across_orgs().filter(peer=ONLY_B, organisation=a["org"])
    assert created.exists()
    assert not Contact.objects.for_org(b["org"]).filter(number="+33655555555").exists()
    assert OptOut.objects.for_org(a["org"]).filter(number="+33655555556").exists()
    assert not OptOut.objects.for_org(b["org"]).filter(number="+33655555556").exists()
    assert Contact.objects.for_org(b["org"]).filter(number="+3360000").exists()  # not cleaned


def test_the_api_lists_count_only_their_organisation(world) -> None:  # type: ignore[no-untyped-def]
    a, b = world["a"], world["b"]
    for side in (a, b):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {side['raw_token']}")
        for path, model in (
            ("/api/v1/messages", Message),
            ("/api/v1/contacts", Contact),
            ("/api/v1/optouts", OptOut),
            ("/api/v1/calls", Call),
            ("/api/v1/campaigns", Campaign),
        ):
            data = client.get(path).json()
            expected = model.objects.for_org(side["org"]).count()
            listed = next(v for v in data.values() if isinstance(v, list))
            assert len(listed) == expected, path
            assert data.get("count", expected) == expected, path


def _command(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_every_command_with_org_reads_and_writes_that_organisation(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = world["a"], world["b"]
    before = _fingerprint(b["org"])
    listed = _command("campaigns", "list", "--org", "a")
    assert MARK not in listed and listed.count("\n") == 2  # its campaign and its file send
    with pytest.raises(CommandError, match=str(b["ids"]["campaign_id"])):
        _command("campaigns", "show", str(b["ids"]["campaign_id"]), "--org", "a")
    with pytest.raises(CommandError):
        _command("campaigns", "cancel", str(b["ids"]["campaign_id"]), "--org", "a")
    with pytest.raises(CommandError):
        _command("campaigns", "retry", str(b["ids"]["campaign_id"]), "--org", "a")
    exported = tmp_path / "a.csv"
    _command("contacts", "export", "--org", "a", "--output", str(exported))
    assert MARK not in exported.read_text() and "Martin" in exported.read_text()
    stop_list = _command("optout", "list", "--org", "a")
    assert "+33688888888" not in stop_list and STOPPED in stop_list
    _command("optout", "add", ONLY_B, "--org", "a")
    assert OptOut.objects.for_org(a["org"]).filter(number=ONLY_B).exists()
    sent = _command("send", "--org", "a", "--to", ONLY_B, "--text", "x")
    assert sent.count("\n") == 1 and "blocked" in sent  # A's own STOP list, just changed
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("Dupont,+33644444444\n")
    _command("contacts", "import", str(csv_file), "--org", "a")
    assert Contact.objects.for_org(a["org"]).filter(number="+33644444444").exists()
    stop_file = tmp_path / "stop.csv"
    stop_file.write_text("+33643434343\n")
    _command("optout", "import", str(stop_file), "--org", "a")
    assert OptOut.objects.for_org(a["org"]).filter(number="+33643434343").exists()
    with pytest.raises(CommandError):
        _command("autoreply", "set", str(b["ids"]["rule_id"]), "--text", "x", "--org", "a")
    _command("autoreply", "set", str(a["ids"]["rule_id"]), "--text", "changé", "--org", "a")
    # retention: A's old messages go (and its mode masks), B's as old stay as they are
    long_ago = timezone.now() - timedelta(days=800)
    Message.objects.across_orgs().update(created_at=long_ago)
    Call.objects.across_orgs().update(at=long_ago)
    day = timezone.now().date().isoformat()
    b_rows = sorted(Message.objects.for_org(b["org"]).values_list("id", "body", "peer"))
    planned = _command("purge", "--org", "a", "--before", day, "--dry-run")
    assert int(re.search(r": (\d+) messages", planned).group(1)) > 0  # type: ignore[union-attr]
    _command("purge", "--org", "a", "--before", day, "--mask")
    assert Message.objects.for_org(a["org"]).filter(body="", peer__contains="•").exists()
    _command("purge", "--org", "a", "--before", day)
    assert sorted(Message.objects.for_org(b["org"]).values_list("id", "body", "peer")) == b_rows
    assert not Call.objects.for_org(b["org"]).filter(caller__contains="•").exists()
    assert _fingerprint(b["org"]) == before


def test_the_mail_inbound_hook_sends_in_the_addresss_organisation_only(world, settings) -> None:  # type: ignore[no-untyped-def]
    """POST /mail/inbound/ (no login, its own secret): a reply from A's user to an address
    naming B's conversation (signed, as no copy ever carries) is refused; A's own goes out in
    A. B's rows unchanged."""
    from email.message import EmailMessage

    from smsdesk.notify import replies

    settings.SMSDESK_EMAIL_INBOUND_TOKEN = "hook-secret"
    a, b = world["a"], world["b"]
    before = _fingerprint(b["org"])
    User.objects.filter(id=a["admin"].id).update(email="ana@a.example")

    def post(conversation_id: int, org_id: int, message_id: str):  # type: ignore[no-untyped-def]
        msg = EmailMessage()
        msg["From"] = "ana@a.example"
        msg["To"] = replies.reply_address(
            org_id=org_id, conversation_id=conversation_id, user_id=a["admin"].id
        )
        msg["Message-ID"] = message_id
        msg.set_content("Reply")
        return Client().post(
            "/mail/inbound/?token=hook-secret", bytes(msg), content_type="message/rfc822"
        )

    theirs = b["ids"]["conversation_id"]
    assert post(theirs, b["org"].id, "<1@a>").status_code == 422
    assert post(theirs, a["org"].id, "<2@a>").status_code == 422  # B's conversation, A's org
    assert _fingerprint(b["org"]) == before
    mine = post(a["ids"]["conversation_id"], a["org"].id, "<3@a>")
    assert mine.json() == {"status": "sent"}
    assert Message.objects.for_org(a["org"]).filter(direction="out", body="Reply").count() == 1
    assert _fingerprint(b["org"]) == before


def test_with_several_organisations_a_command_must_name_one(world) -> None:  # type: ignore[no-untyped-def]
    for args in (("campaigns", "list"), ("optout", "list"), ("send", "--to", SAME, "--text", "x")):
        with pytest.raises(CommandError, match="--org") as refused:
            _command(*args)
        assert refused.value.returncode == 2
        assert "a, b, default" in str(refused.value)
    for hostile in ("nope", "../etc", "a\x1b[2J", "A" * 300, ""):
        if not hostile:
            continue
        with pytest.raises(CommandError) as refused:
            _command("campaigns", "list", "--org", hostile)
        assert refused.value.returncode == 2 and "\n" not in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_a_stop_on_a_line_blocks_that_organisations_sends_only(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    tenancy.sole_organisation()
    a = Organisation.objects.create(name="A", slug="a")
    b = Organisation.objects.create(name="B", slug="b")
    # A STOP from +33612345678 on A's line, through the worker's inbound handling
    handler = EventHandler()
    handler.handle(
        [InboundSMS(gateway="line-a", sender=SAME, text="STOP", received_at=timezone.now())]
    )
    assert OptOut.objects.for_org(a).filter(number=SAME).exists()
    assert not OptOut.objects.for_org(b).filter(number=SAME).exists()
    [to_a] = sending.create_campaign(author=None, org=a, body="x", to=[SAME]).created_messages
    [to_b] = sending.create_campaign(author=None, org=b, body="x", to=[SAME]).created_messages
    assert to_a.status == Message.Status.BLOCKED
    assert to_b.status == Message.Status.QUEUED
    assert (to_a.gateway_id, to_b.gateway_id) == ("line-a", "line-b")  # each by its own line
    # A reply on B's line appears in B only
    handler.handle(
        [InboundSMS(gateway="line-b", sender=SAME, text="Oui", received_at=timezone.now())]
    )
    assert Message.objects.for_org(b).filter(body="Oui").exists()
    assert not Message.objects.for_org(a).filter(body="Oui").exists()
    # and A's line never carries B's message
    from tests.worker.helpers import drain, runner_for

    line_a = SimulatorGateway("line-a", delivery_delay=0)
    line_b = SimulatorGateway("line-b", delivery_delay=0)
    drain(runner_for(line_a))
    drain(runner_for(line_b))
    # A's line carried A's STOP confirmation only (its campaign was blocked), B's line B's SMS
    handed_a = Message.objects.across_orgs().filter(id__in=[m.id for m in line_a.handed])
    assert [(m.organisation_id, m.opt_out_notice) for m in handed_a] == [(a.id, True)]
    assert [m.id for m in line_b.handed] == [to_b.id]


@pytest.mark.django_db(transaction=True)
def test_concurrent_api_sends_of_two_organisations_land_in_their_own(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    tenancy.sole_organisation()
    orgs = [Organisation.objects.create(name=s, slug=s) for s in ("a", "b")]
    tokens = {}
    for org in orgs:
        user = accounts.create_user(username=f"u-{org.slug}", password=PASSWORD, org=org)
        tokens[org.slug] = accounts.create_token(user=user)[1]

    def post(i: int) -> tuple[str, int, int]:
        slug = "ab"[i % 2]
        client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[slug]}")
        response = client.post(
            "/api/v1/messages",
            {"to": [f"+336{i:08d}"], "text": f"{slug}-{i}"},
            content_type="application/json",
        )
        return slug, i, response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(100)))
    assert all(code == 201 for _s, _i, code in results), results
    for org in orgs:
        mine = Message.objects.for_org(org)
        assert mine.count() == 50
        assert all(body.startswith(f"{org.slug}-") for body in mine.values_list("body", flat=True))
        assert set(mine.values_list("gateway_id", flat=True)) == {f"line-{org.slug}"}
