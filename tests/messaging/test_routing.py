"""Routing (issue 18), in one process: the line each entry point chooses, the replies by the
correspondent's line, volume limits, failover, pause and the watch, driven by the worker's
own gateway runner over real simulator lines. (Worker processes:
tests/worker/test_routing_processes.py.)"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.gateways import registry
from smsdesk.gateways.base import Gateway, Outcome, SendResult
from smsdesk.messaging import gateway_state, lifecycle, receiving, routing, sending
from smsdesk.messaging.models import GatewayState, LineUsage, Message, OutboxEntry
from smsdesk.sms.routing import Period
from smsdesk.worker.loop import GatewayRunner
from tests.worker.helpers import drain, runner_for

S = Message.Status
FREE = "free=simulator?priority=1&delivery_delay=0"
ORANGE = "orange=simulator?priority=5&delivery_delay=0&sender=MYSHOP"


@pytest.fixture
def two_lines(settings):  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = [FREE, ORANGE]
    settings.SMSDESK_FAILOVER_AFTER = 0
    for spec in gateway_state.configured():
        gateway_state.ensure(spec.name, spec.kind)
    return settings


def build(name: str) -> Gateway:
    spec = next(s for s in gateway_state.configured() if s.name == name)
    return registry.build(spec)


def runner(name: str) -> GatewayRunner:
    return runner_for(build(name), worker_id=f"test-{name}")


def inbound(line: str, sender: str = "+33612345678", text: str = "Bonjour") -> Message:
    msg = receiving.receive_inbound(
        gateway=line, sender=sender, text=text, received_at=timezone.now()
    )
    assert msg is not None
    return msg


def send(*numbers: str, line: str | None = None, text: str = "Bonjour") -> list[Message]:
    campaign = sending.create_campaign(author=None, body=text, to=list(numbers), gateway=line)
    return list(campaign.created_messages)


def lines_of(messages: list[Message]) -> list[str]:
    return [Message.objects.get(id=m.id).gateway_id for m in messages]


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(api: Client, body: dict):  # type: ignore[no-untyped-def]
    return api.post("/api/v1/messages", body, content_type="application/json")


# --- the choice --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_choice_the_highest_priority_line_sends(two_lines) -> None:  # type: ignore[no-untyped-def]
    assert lines_of(send("+33611111111")) == ["orange"]


@pytest.mark.django_db
def test_a_reply_by_the_api_leaves_by_the_line_the_correspondent_wrote_to(two_lines, api) -> None:  # type: ignore[no-untyped-def]
    """The issue's bug: a customer wrote to "free", the API's answer went out through the
    first line."""
    got = inbound("free", "+33612345678")
    response = post(api, {"to": ["06 12 34 56 78", "+33699999999"], "text": "Merci"})
    assert response.status_code == 201, response.content
    by_number = {m["to"]: m for m in response.json()["messages"]}
    assert by_number["+33612345678"]["from"] == "free"  # outbound: from = the line
    assert by_number["+33699999999"]["from"] == "orange"  # never wrote: the pool's best
    assert by_number["+33612345678"]["line"] == "free"
    shown = api.get(f"/api/v1/messages/{got.id}").json()
    assert shown["from"] == "+33612345678" and shown["to"] == "free"  # inbound: to = the line
    queued = dict(OutboxEntry.objects.values_list("message_id", "gateway_id"))
    assert sorted(queued.values()) == ["free", "orange"]


@pytest.mark.django_db
def test_a_reply_follows_the_correspondents_latest_line(two_lines) -> None:  # type: ignore[no-untyped-def]
    inbound("free")
    inbound("orange")
    assert lines_of(send("+33612345678")) == ["orange"]
    inbound("free")
    assert lines_of(send("+33612345678")) == ["free"]


@pytest.mark.django_db
def test_a_reply_typed_in_the_conversation_leaves_by_their_line(two_lines, admin_user) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.core import once
    from smsdesk.messaging.models import Conversation

    got = inbound("free")
    client = Client()
    client.force_login(admin_user)
    conversation = Conversation.objects.get(peer=got.peer)
    url = f"/sms/conversations/{conversation.id}/"
    assert 'class="sd-line"' in client.get(url).content.decode()  # each bubble says its line
    client.post(url + "reply/", {"text": "Réponse", once.FIELD: once.new_key()})
    reply = Message.objects.filter(direction="out", peer=got.peer).first()
    assert reply is not None and reply.gateway_id == "free"


@pytest.mark.django_db
def test_the_paused_line_of_a_correspondent_is_skipped(two_lines) -> None:  # type: ignore[no-untyped-def]
    inbound("free")
    routing.pause("free", by=None)
    assert lines_of(send("+33612345678")) == ["orange"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "line"),
    [
        ({"from": "free"}, "free"),
        ({"from": "myshop"}, "orange"),  # a sender name, compared without case
        ({"gateway": "free"}, "free"),  # the former name, kept
        ({"from": "free", "gateway": "free"}, "free"),
    ],
)
def test_the_api_chooses_the_line_by_from_or_gateway(two_lines, api, body, line) -> None:  # type: ignore[no-untyped-def]
    inbound("orange", "+33612345678")  # chosen beats the correspondent's line
    response = post(api, {"to": ["+33612345678"], "text": "Bonjour", **body})
    assert response.status_code == 201, response.content
    [message] = response.json()["messages"]
    assert message["from"] == line
    assert Message.objects.get(id=message["id"]).gateway_id == line


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "sfr"}, "from"),
        ({"gateway": "sfr"}, "gateway"),
        ({"from": "free", "gateway": "orange"}, "from"),
        ({"from": "x" * 51}, None),
    ],
)
def test_the_api_refuses_a_line_it_does_not_have(two_lines, api, body, field) -> None:  # type: ignore[no-untyped-def]
    response = post(api, {"to": ["+33612345678"], "text": "Bonjour", **body})
    assert response.status_code in (400, 422), response.content
    if field:
        assert response.json()["field"] == field
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_cli_chooses_the_line_with_from(two_lines) -> None:  # type: ignore[no-untyped-def]
    call_command(
        "send", "--to", "+33612345678", "--text", "Bonjour", "--from", "free", stdout=io.StringIO()
    )
    call_command("send", "--to", "+33612345679", "--text", "Bonjour", stdout=io.StringIO())
    assert dict(Message.objects.values_list("peer", "gateway_id")) == {
        "+33612345678": "free",
        "+33612345679": "orange",
    }
    with pytest.raises(CommandError, match=r"(no line named|pas de ligne nommée) sfr"):
        call_command(
            "send", "--to", "+33612345670", "--text", "x", "--from", "sfr", stdout=io.StringIO()
        )


@pytest.mark.django_db
def test_new_sms_offers_the_lines_only_when_there_are_several(settings, admin_user) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(admin_user)
    settings.SMSDESK_GATEWAYS = ["simulator"]
    assert 'name="line"' not in client.get("/sms/new/").content.decode()
    settings.SMSDESK_GATEWAYS = [FREE, ORANGE]
    page = client.get("/sms/new/").content.decode()
    assert 'name="line"' in page and '<option value="free"' in page
    response = client.post(
        "/sms/new/", {"text": "Bonjour", "numbers": "+33612345678", "line": "free"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Message.objects.get().gateway_id == "free"
    response = client.post(
        "/sms/new/", {"text": "Bonjour", "numbers": "+33612345670", "line": "sfr"}
    )
    assert response.status_code == 400
    assert "pas de ligne nommée sfr" in response.content.decode()


@pytest.mark.django_db
def test_lists_and_exports_carry_the_line(two_lines, admin_user) -> None:  # type: ignore[no-untyped-def]
    inbound("free", "+33612345678", "Salut")
    send("+33612345678")
    client = Client()
    client.force_login(admin_user)
    sent = client.get("/sms/sent/").content.decode()
    received = client.get("/sms/received/").content.decode()
    assert (
        'sd-line" data-label="De (ligne)">free<' in sent
        or 'sd-line" data-label="From (line)">free<' in sent
    )
    assert ">free<" in received and "sd-line" in received
    out = io.StringIO()
    call_command("messages", "export", "--direction", "in", stdout=out)
    _header, row = out.getvalue().lstrip("\ufeff").splitlines()[:2]
    assert row.split(";")[-1] == "free"


# --- limits, failover, pause ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_line_over_its_daily_limit_sends_no_more_and_shows_its_use(settings, admin_user) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = [
        "a=simulator?limit_day=3&delivery_delay=0",
        "b=simulator?priority=-1&delivery_delay=0",
    ]
    messages = send(*[f"+3361000000{i}" for i in range(5)], line="a")
    a = runner("a")
    drain(a)
    statuses = [Message.objects.get(id=m.id).status for m in messages]
    assert statuses.count(S.DELIVERED) == 3 and statuses.count(S.QUEUED) == 2
    assert routing.allowance("a") == 0
    client = Client()
    client.force_login(admin_user)
    page = client.get("/gateways/").content.decode()
    assert "3 / 3 aujourd’hui" in page or "3 / 3 today" in page
    # no failover on "a": what waits stays there
    assert routing.fail_over() == 0
    assert set(OutboxEntry.objects.values_list("gateway_id", flat=True)) == {"a"}


@pytest.mark.django_db(transaction=True)
def test_limits_count_sms_parts_not_messages(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["a=simulator?limit_hour=4&delivery_delay=0"]
    long_text = "x" * 300  # 2 parts
    messages = send("+33610000001", "+33610000002", "+33610000003", line="a", text=long_text)
    drain(runner("a"))
    statuses = sorted(Message.objects.get(id=m.id).status for m in messages)
    assert statuses == [S.DELIVERED, S.DELIVERED, S.QUEUED]
    assert routing.usage_of(["a"], timezone.now())["a"][Period.HOUR] == 4
    assert sum(LineUsage.objects.values_list("parts", flat=True)) == 4


@pytest.mark.django_db(transaction=True)
def test_over_its_limit_with_failover_the_queue_moves_to_the_next_line(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = [
        "a=simulator?priority=9&limit_day=2&failover=true&delivery_delay=0",
        "b=simulator?priority=1&delivery_delay=0",
    ]
    messages = send(*[f"+3361000000{i}" for i in range(6)])
    assert set(lines_of(messages)) == {"a"}
    drain(runner("a"))
    moved = routing.fail_over()
    assert moved == 4
    drain(runner("b"))
    final = [Message.objects.get(id=m.id) for m in messages]
    assert all(m.status == S.DELIVERED for m in final)
    assert sorted(m.gateway_id for m in final) == ["a", "a", "b", "b", "b", "b"]
    # and a new message goes straight to "b" while "a" is over its limit
    assert lines_of(send("+33619999999")) == ["b"]


@pytest.mark.django_db(transaction=True)
def test_unknown_and_claimed_messages_never_move(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = [
        "a=simulator?failover=true&delivery_delay=0",
        "b=simulator?delivery_delay=0",
    ]
    settings.SMSDESK_FAILOVER_AFTER = 0
    messages = send(*[f"+3361000000{i}" for i in range(4)], line="a")
    claimed = lifecycle.claim(gateway="a", worker_id="w", limit=2, now=timezone.now())
    lifecycle.record_unknown([claimed[0].sms.id], reason="died", now=timezone.now())
    routing.pause("a", by=None)
    assert routing.fail_over() == 2
    after = {m.id: Message.objects.get(id=m.id) for m in messages}
    assert (
        after[claimed[0].sms.id].status == S.UNKNOWN and after[claimed[0].sms.id].gateway_id == "a"
    )
    assert (
        after[claimed[1].sms.id].status == S.SENDING and after[claimed[1].sms.id].gateway_id == "a"
    )
    others = [m for i, m in after.items() if i not in {c.sms.id for c in claimed}]
    assert [(m.status, m.gateway_id) for m in others] == [(S.QUEUED, "b")] * 2
    # the reroute itself refuses what has no queue row, whatever it is asked
    assert lifecycle.reroute(line="a", to="b", now=timezone.now()) == []


@pytest.mark.django_db(transaction=True)
def test_a_down_line_moves_its_queue_only_after_failover_after(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = [
        "a=simulator?failover=true&delivery_delay=0",
        "b=simulator?delivery_delay=0",
    ]
    settings.SMSDESK_FAILOVER_AFTER = 60
    send("+33610000001", line="a")
    gateway_state.ensure("a")
    gateway_state.mark_down(
        "a", reason="port gone", since=timezone.now() - timedelta(seconds=10), retrying=True
    )
    assert routing.fail_over() == 0  # a blip moves nothing
    gateway_state.mark_down(
        "a", reason="port gone", since=timezone.now() - timedelta(seconds=61), retrying=True
    )
    assert routing.fail_over() == 1
    assert OutboxEntry.objects.get().gateway_id == "b"


@pytest.mark.django_db(transaction=True)
def test_a_paused_line_sends_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["a=simulator?delivery_delay=0", "b=simulator?delivery_delay=0"]
    gateway = build("a")
    messages = send("+33610000001", "+33610000002", line="a")
    routing.pause("a", by=None)
    run = runner_for(gateway)
    drain(run)
    assert gateway.handed == []  # type: ignore[attr-defined]
    assert [Message.objects.get(id=m.id).status for m in messages] == [S.QUEUED] * 2
    assert routing.fail_over() == 0  # no failover: they wait for the resume
    routing.resume("a", by=None)
    drain(run)
    assert len(gateway.handed) == 2  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_only_administrators_pause_and_resume(two_lines, operator, admin_user) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(routing.LineNotAllowed):
        routing.pause("free", by=operator)
    bob = Client()
    bob.force_login(operator)
    assert bob.post("/gateways/lines/free/pause/").status_code == 403
    assert bob.post("/gateways/lines/free/routing/", {"priority": "9"}).status_code == 403
    assert not GatewayState.objects.get(name="free").paused_at
    alice = Client()
    alice.force_login(admin_user)
    assert alice.post("/gateways/lines/free/pause/").status_code == 302
    state = GatewayState.objects.get(name="free")
    assert state.paused_at and state.paused_by == admin_user
    page = alice.get("/sms/sent/").content.decode()  # the banner, on every page, for admins
    assert 'id="line-paused-free"' in page and "alice" in page
    assert 'id="line-paused-free"' not in bob.get("/sms/sent/").content.decode()
    assert alice.post("/gateways/lines/sfr/pause/").status_code == 302  # refused in words
    assert alice.post("/gateways/lines/free/resume/").status_code == 302
    assert not GatewayState.objects.get(name="free").paused_at


@pytest.mark.django_db
def test_the_page_changes_priority_failover_and_limits(two_lines, admin_user) -> None:  # type: ignore[no-untyped-def]
    alice = Client()
    alice.force_login(admin_user)
    response = alice.post(
        "/gateways/lines/free/routing/",
        {"priority": "10", "failover": "on", "limit_day": "500", "limit_month": "10000"},
    )
    assert response.status_code == 302
    [free] = [v for v in routing.pool() if v.name == "free"]
    assert free.line.routing.priority == 10 and free.line.routing.failover
    assert [(p, cap) for p, _u, cap in free.limits] == [(Period.DAY, 500), (Period.MONTH, 10000)]
    assert lines_of(send("+33611111111")) == ["free"]  # now the pool's first
    page = alice.get("/gateways/").content.decode()
    assert "0 / 500" in page and "0 / 10000" in page
    alice.post("/gateways/lines/free/routing/", {"priority": "5000"})
    assert next(v for v in routing.pool() if v.name == "free").line.routing.priority == 10
    alice.post("/gateways/lines/free/reset/")
    [free] = [v for v in routing.pool() if v.name == "free"]
    assert free.line.routing.priority == 1 and not free.limits


@pytest.mark.django_db
def test_the_line_command_pauses_resumes_and_lists(two_lines) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("line", "pause", "free", stdout=out)
    assert GatewayState.objects.get(name="free").paused_at
    call_command("line", "list", stdout=out)
    assert "free\tpriority=1" in out.getvalue() and "paused" in out.getvalue()
    call_command("line", "resume", "free", stdout=out)
    assert not GatewayState.objects.get(name="free").paused_at
    with pytest.raises(CommandError, match=r"(no line named|pas de ligne nommée) sfr"):
        call_command("line", "pause", "sfr", stdout=out)


# --- the watch ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_watch_pauses_a_failing_line_and_an_admin_resumes_it(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WATCH_MIN_MESSAGES = 10
    settings.SMSDESK_WATCH_FAILED_PERCENT = 50
    bad = [f"+3360000{i:04d}" for i in range(6)]
    settings.SMSDESK_GATEWAYS = [
        "a=simulator?delivery_delay=0&batch_size=5&fail_permanent="
        + ",".join(n.lstrip("+") for n in bad),
        "b=simulator?delivery_delay=0",
    ]
    good = [f"+3361111{i:04d}" for i in range(4)]
    send(*good[:2], *bad, *good[2:], line="a")
    run = runner("a")
    drain(run)
    state = GatewayState.objects.get(name="a")
    assert state.paused_at and state.paused_by is None and state.pause_reason == "failed"
    assert state.pause_detail == {
        "results": 10,
        "failed": 60,
        "unknown": 0,
        "delay": 0,
        "limit": 50,
    }
    assert "60 %" in routing.pause_text(state) and "10" in routing.pause_text(state)
    # paused: what is saved for it now waits
    later = send("+33612222222", line="a")
    drain(run)
    assert Message.objects.get(id=later[0].id).status == S.QUEUED
    routing.resume("a", by=None)
    drain(run)  # judged afresh: one good result is no reason to pause again
    assert Message.objects.get(id=later[0].id).status == S.DELIVERED
    assert GatewayState.objects.get(name="a").paused_at is None


@pytest.mark.django_db(transaction=True)
def test_under_its_thresholds_a_line_keeps_sending_and_shows_its_figures(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WATCH_MIN_MESSAGES = 10
    bad = [f"+3360000{i:04d}" for i in range(4)]
    settings.SMSDESK_GATEWAYS = [
        "a=simulator?delivery_delay=0&fail_permanent=" + ",".join(n.lstrip("+") for n in bad)
    ]
    send(*bad, *[f"+3361111{i:04d}" for i in range(6)], line="a")
    drain(runner("a"))
    state = GatewayState.objects.get(name="a")
    assert state.paused_at is None
    assert state.watch["results"] == 10 and state.watch["failed"] == 40


@pytest.mark.django_db(transaction=True)
def test_the_watch_pauses_on_unknown_results(settings) -> None:  # type: ignore[no-untyped-def]
    """A gateway that breaks in the middle of a hand-over cannot say what went: `unknown`."""
    settings.SMSDESK_WATCH_MIN_MESSAGES = 5
    settings.SMSDESK_WATCH_UNKNOWN_PERCENT = 20
    settings.SMSDESK_GATEWAYS = ["a=simulator?delivery_delay=0"]
    gateway = build("a")

    def broken(messages, progress=None):  # type: ignore[no-untyped-def]
        raise OSError("the link broke")

    send(*[f"+336100000{i:02d}" for i in range(5)], line="a")
    gateway.send_many = broken  # type: ignore[method-assign]
    drain(runner_for(gateway))
    assert Counter(Message.objects.values_list("status", flat=True)) == {S.UNKNOWN: 5}
    state = GatewayState.objects.get(name="a")
    assert state.paused_at and state.pause_reason == "unknown"


@pytest.mark.django_db(transaction=True)
def test_a_lost_link_s_window_in_flight_does_not_pause_the_line(settings) -> None:  # type: ignore[no-untyped-def]
    """An SMSC restarted mid-send: the gateway says which were in flight (`unknown`) and which
    never left (queued again). Those unknown are the link's, not the line's: once reconnected
    the line sends the rest, unpaused (the SMSC-killed process test, tests/gateways)."""
    settings.SMSDESK_WATCH_MIN_MESSAGES = 5
    settings.SMSDESK_WATCH_UNKNOWN_PERCENT = 20
    settings.SMSDESK_GATEWAYS = ["a=simulator?delivery_delay=0"]
    gateway = build("a")
    numbers = [f"+336100000{i:02d}" for i in range(10)]
    send(*numbers, line="a")
    works = gateway.send_many

    def link_lost(messages, progress=None):  # type: ignore[no-untyped-def]
        gateway.send_many = works  # type: ignore[method-assign]
        return [
            SendResult(m.id, Outcome.MAYBE_HANDED_OVER if i < 4 else Outcome.NOT_HANDED_OVER)
            for i, m in enumerate(messages)
        ]

    gateway.send_many = link_lost  # type: ignore[method-assign]
    run = runner_for(gateway)
    drain(run)
    run._retry_at = 0  # reconnects at once (no back-off wait)
    drain(run)
    assert Counter(Message.objects.values_list("status", flat=True)) == {
        S.UNKNOWN: 4,
        S.DELIVERED: 6,
    }
    assert GatewayState.objects.get(name="a").paused_at is None


@pytest.mark.django_db(transaction=True)
def test_slow_receipts_pause_the_line(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WATCH_MIN_MESSAGES = 3
    settings.SMSDESK_WATCH_REPORT_DELAY = 60
    settings.SMSDESK_GATEWAYS = ["a=simulator?delivery_delay=0"]
    clock = [1000.0]
    run = runner_for(build("a"), clock=lambda: clock[0])
    gateway = run.gateway
    real_poll = gateway.poll

    def late_poll() -> None:  # the network's receipts come 2 minutes after the hand-over
        clock[0] += 120
        real_poll()

    gateway.poll = late_poll  # type: ignore[method-assign]
    send("+33610000001", "+33610000002", "+33610000003", line="a")
    drain(run)
    state = GatewayState.objects.get(name="a")
    assert state.paused_at and state.pause_reason == "slow_reports"
    assert state.pause_detail["delay"] >= 120


@pytest.mark.django_db
def test_routing_json_in_the_webhook_shape(two_lines) -> None:  # type: ignore[no-untyped-def]
    """The webhooks' `data` is the API's shape: the line is there too."""
    from smsdesk.messaging import shapes

    [m] = send("+33612345678", line="free")
    row = Message.objects.filter(id=m.id).values(*shapes.FIELDS).get()
    data = shapes.message_data(type("Row", (), row)())
    assert data["sender"] == "free" and data["line"] == "free" and data["to"] == "+33612345678"
    assert json.dumps(data, default=str)


@pytest.mark.django_db
def test_a_recurring_send_refuses_a_chosen_line_it_could_not_keep(two_lines, api) -> None:  # type: ignore[no-untyped-def]
    """Each occurrence is routed the day it fires: a line asked for is refused, not dropped."""
    body = {"to": ["+33612345678"], "text": "Bonjour", "repeat": {"every": "day", "at": "09:00"}}
    response = post(api, {**body, "from": "free"})
    assert response.status_code == 400 and response.json()["field"] == "from"
    assert post(api, body).status_code == 201
    with pytest.raises(CommandError, match="--from"):
        call_command(
            "send", "--to", "+33612345678", "--text", "x", "--every", "day", "--at", "09:00",
            "--from", "free", stdout=io.StringIO(),
        )  # fmt: skip


HOSTILE_LINES = ["bad\x00line", "../", "x" * 50, "'; DROP TABLE x; --", "\u202efree", " ", "free\n"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE_LINES, ids=repr)
def test_a_hostile_line_is_refused_everywhere_and_nothing_stored(
    two_lines, api, admin_user, value
) -> None:  # type: ignore[no-untyped-def]
    response = post(api, {"to": ["+33612345678"], "text": "x", "from": value})
    accepted = value.strip() in ("", "free")  # blank: the routing chooses; spaces trimmed
    if accepted:
        assert response.status_code == 201
        Message.objects.all().delete()
    else:
        assert response.status_code == 400, response.content
        assert response.json()["field"] == "from"
    client = Client()
    client.force_login(admin_user)
    page = client.post("/sms/new/", {"text": "x", "numbers": "+33612345670", "line": value})
    assert page.status_code == (302 if accepted else 400)
    from urllib.parse import quote

    assert client.post(f"/gateways/lines/{quote(value, safe='')}/pause/").status_code in (302, 404)
    assert not GatewayState.objects.filter(paused_at__isnull=False).exists()
    if not accepted:
        assert not Message.objects.exists()
