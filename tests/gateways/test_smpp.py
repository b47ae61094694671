"""The SMPP gateway against a real SMSC process (tests/gateways/smpp_server.py), through the
worker's own loop, on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from smsdesk.gateways import registry
from smsdesk.gateways.base import GatewayError, GatewayUnavailable
from smsdesk.gateways.smpp import SmppGateway
from smsdesk.messaging import lifecycle, routing
from smsdesk.messaging.models import GatewayState, Message, MessagePart, UnmatchedReport
from smsdesk.worker.loop import GatewayRunner, Line, State
from tests.gateways.smsc import Smsc, wait_for
from tests.worker.helpers import drain, runner_for

S = Message.Status
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    server = Smsc(tmp_path / "received.jsonl")
    yield server
    server.close()


def gateway(url: str, name: str = "op") -> SmppGateway:
    built = registry.build(registry.parse_spec(f"{name}={url}"))
    assert isinstance(built, SmppGateway)
    return built


def queue(count: int, text: str = "Bonjour {i}", name: str = "op") -> list[int]:
    row, _ = GatewayState.objects.get_or_create(name=name, defaults={"kind": "smpp"})
    now = timezone.now()
    created = Message.objects.bulk_create(
        [
            Message(
                direction="out",
                status=S.QUEUED,
                peer=f"+3361{i:07d}",
                gateway=row,
                body=text.format(i=i),
                created_at=now,
                due_at=now,
                status_at=now,
            )
            for i in range(count)
        ]
    )
    lifecycle.enqueue(created)
    return [m.id for m in created]


def counts() -> Counter[str]:
    return Counter(Message.objects.values_list("status", flat=True))


def run_until(runner, condition, what: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        drain(runner)
        time.sleep(0.02)


def test_it_sends_and_records_the_receipts_after_the_resp(smsc: Smsc) -> None:
    ids = queue(30)
    runner = runner_for(gateway(smsc.url("window=4&binds=2&source=MYSHOP")))
    run_until(runner, lambda: counts()[S.DELIVERED] == 30, "30 delivered")
    received = smsc.received()
    assert sorted(r["to"] for r in received) == sorted(f"3361{i:07d}" for i in range(30))
    assert {(r["from"], r["ton"], r["rd"]) for r in received} == {("MYSHOP", 5, 1)}
    assert {r["conn"] for r in received} == {1, 2}  # both binds took a share
    refs = set(MessagePart.objects.filter(message_id__in=ids).values_list("reference", flat=True))
    assert refs == {r["id"] for r in received}
    wait_for(lambda: smsc.stats()["unacked"] == 0, 10, "every receipt answered")
    runner.gateway.stop()


def test_receipts_before_the_resp_are_matched_too(tmp_path: Path) -> None:
    server = Smsc(tmp_path / "received.jsonl", "--receipts", "before", "--hex-ids")
    try:
        queue(10)
        # The resp's id in hex, the receipt's in decimal: Kannel's msg-id-type 1.
        runner = runner_for(gateway(server.url("msg_id_type=1")))
        run_until(runner, lambda: counts()[S.DELIVERED] == 10, "10 delivered")
        assert not UnmatchedReport.objects.exists()
        runner.gateway.stop()
    finally:
        server.close()


def test_a_receipt_with_an_unknown_id_is_kept_and_matched_when_its_part_comes(smsc: Smsc) -> None:
    runner = runner_for(gateway(smsc.url()))
    drain(runner)
    smsc.command("receipt 777000")
    run_until(runner, UnmatchedReport.objects.exists, "the receipt kept")
    assert smsc.stats()["unacked"] == 0  # answered once stored, not dropped
    smsc.command("receipts off")
    smsc.command("nextid 777000")
    [msg_id] = queue(1)
    run_until(runner, lambda: counts()[S.DELIVERED] == 1, "the early receipt matched")
    assert not UnmatchedReport.objects.exists()
    assert MessagePart.objects.get(message_id=msg_id).reference == "777000"
    runner.gateway.stop()


def test_throttling_slows_down_and_fails_nothing(smsc: Smsc) -> None:
    queue(20)
    smsc.command("throttle 6")
    smsc.command("queuefull 3")
    runner = runner_for(gateway(smsc.url("window=5")))
    run_until(runner, lambda: counts()[S.DELIVERED] == 20, "20 delivered")
    assert Counter(r["to"] for r in smsc.received()).most_common(1)[0][1] == 1
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}
    assert smsc.stats()["received"] == 20
    runner.gateway.stop()


def test_the_window_holds_at_most_window_submits_without_resp(smsc: Smsc) -> None:
    queue(20)
    smsc.command("hold")
    runner = runner_for(gateway(smsc.url("window=5&timeout=60")))
    thread = threading.Thread(target=drain, args=(runner,))
    thread.start()
    wait_for(lambda: smsc.stats()["received"] == 5, 20, "the window full")
    time.sleep(0.5)  # room for a sixth submit_sm, if the window leaked
    assert smsc.stats()["received"] == 5 and smsc.stats()["outstanding"] == 5
    smsc.command("release")
    thread.join(30)
    run_until(runner, lambda: counts()[S.DELIVERED] == 20, "20 delivered")
    assert smsc.stats()["max_outstanding"] == 5
    runner.gateway.stop()


def test_inbound_multipart_out_of_order_is_stored_whole_and_answered_after(smsc: Smsc) -> None:
    GatewayState.objects.create(name="op", kind="smpp")
    runner = runner_for(gateway(smsc.url("bind=tx%2Brx")))
    drain(runner)
    smsc.command("multipart +33612345678 7 3,1,2 Bonjour |tout |le monde €")
    run_until(
        runner,
        lambda: Message.objects.filter(direction="in").exists() and smsc.stats()["unacked"] == 0,
        "the long SMS stored",
    )
    [inbound] = Message.objects.filter(direction="in")
    assert inbound.body == "Bonjour tout le monde €" and inbound.peer == "+33612345678"
    runner.gateway.stop()


def lanes_of(url: str) -> list[GatewayRunner]:
    """A line of several binds as the worker drives it: one runner (thread) per bind."""
    line = Line("op")
    lanes = gateway(url).lanes()
    return [runner_for(lane, line=line) for lane in lanes]


def test_a_line_of_two_binds_hands_over_on_a_thread_per_bind(smsc: Smsc) -> None:
    ids = queue(200)
    runners = lanes_of(smsc.url("window=5&binds=2&lanes=on"))
    stop = threading.Event()

    def drive(runner: GatewayRunner) -> None:
        try:
            while not stop.is_set():
                if not runner.step():
                    time.sleep(0.01)
        finally:
            runner.gateway.stop()
            connection.close()

    threads = [threading.Thread(target=drive, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: counts()[S.DELIVERED] == 200, 60, "200 delivered")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    received = smsc.received()
    # Each sent once, each bind a share, each bind's window kept (5 each, 10 in all).
    assert sorted(r["to"] for r in received) == sorted(f"3361{i:07d}" for i in range(200))
    assert {r["conn"] for r in received} == {1, 2}
    assert smsc.stats()["max_outstanding"] <= 5  # the most one bind had awaiting its resp
    refs = set(MessagePart.objects.filter(message_id__in=ids).values_list("reference", flat=True))
    assert refs == {r["id"] for r in received}
    assert {r.name for r in runners} == {"gateway-op-1", "gateway-op-2"}
    state = GatewayState.objects.get(name="op")
    # The line's Health tells of both binds, whichever lane reported it.
    assert state.down_since is None and state.connected and state.detail == "2/2 binds up"


def test_an_sms_by_one_bind_is_stored_before_the_other_bind_hands_over(smsc: Smsc) -> None:
    GatewayState.objects.create(name="op", kind="smpp")
    first, second = lanes_of(smsc.url("window=5&binds=2&lanes=on"))
    drain(first)
    drain(second)  # both bound; the SMSC's commands go to the last bound: the second
    smsc.command("multipart +33612345678 9 1 STOP")
    wait_for(lambda: smsc.stats()["unacked"] == 1, 10, "the SMS sent by the second bind")
    # Only the first lane steps: it records what came by the line's other bind (its STOP)
    # before it claims and hands over, and answers it after the commit.
    drain(first)
    [inbound] = Message.objects.filter(direction="in")
    assert inbound.body == "STOP" and inbound.peer == "+33612345678"
    wait_for(lambda: smsc.stats()["unacked"] == 0, 10, "the SMS answered")
    first.gateway.stop()
    second.gateway.stop()


def test_a_window_in_flight_when_the_smsc_dies_is_unknown_but_does_not_pause_the_line(
    smsc: Smsc, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WATCH_MIN_MESSAGES = 5
    settings.SMSDESK_WATCH_UNKNOWN_PERCENT = 20
    url = smsc.url("window=5&timeout=60")
    settings.SMSDESK_GATEWAYS = [f"op={url}"]  # a line the watch may pause
    queue(5)
    smsc.command("hold")  # no submit_sm_resp: the whole window stays in flight
    runner = runner_for(gateway(url))
    thread = threading.Thread(target=drain, args=(runner,))
    thread.start()
    wait_for(lambda: smsc.stats()["outstanding"] == 5, 20, "the window in flight")
    smsc.kill()  # nothing of the batch is left to send: all 5 were written
    thread.join(30)
    assert counts() == {S.UNKNOWN: 5}
    # The link's, not the line's: not judged (5 unknown of 5 would be over 20 %).
    assert not runner._paused and not routing.line_state("op")[0]
    runner.gateway.stop()
    connection.close()


def test_long_texts_by_udh_or_payload_and_their_codings(smsc: Smsc) -> None:
    [gsm_long] = queue(1, "x" * 200)
    runner = runner_for(gateway(smsc.url()))
    run_until(runner, lambda: counts()[S.DELIVERED] == 1, "a long GSM-7 text")
    parts = smsc.received()
    assert [(p["dc"], p["esm"]) for p in parts] == [(0, 0x40), (0, 0x40)]
    assert MessagePart.objects.filter(message_id=gsm_long).count() == 2
    runner.gateway.stop()
    Message.objects.all().delete()
    queue(1, "Ça coûte 5 € — merci ✓" * 4)
    queue(1, "déjà là", name="op")
    runner = runner_for(gateway(smsc.url("long=payload&coding=latin1")))
    run_until(runner, lambda: counts()[S.DELIVERED] == 2, "payload and Latin-1")
    later = smsc.received()[2:]
    assert {(p["dc"], p["payload"]) for p in later} == {(8, True), (3, False)}
    ucs2 = next(p for p in later if p["dc"] == 8)
    assert bytes.fromhex(ucs2["sm"]).decode("utf-16-be") == "Ça coûte 5 € — merci ✓" * 4
    runner.gateway.stop()


def test_a_wrong_password_is_said_plainly_and_not_retried(smsc: Smsc, admin_user, settings) -> None:  # type: ignore[no-untyped-def]
    # configured, so that the Passerelles page of the (only) organisation lists it
    settings.SMSDESK_GATEWAYS = [f"op={smsc.url(password='nope')}"]
    GatewayState.objects.create(name="op", kind="smpp")
    runner = runner_for(gateway(smsc.url(password="nope")))
    drain(runner)
    assert runner.state == State.BROKEN
    row = GatewayState.objects.get(name="op")
    assert "wrong password" in row.down_reason and not row.retrying
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("worker:gateways")).content.decode()
    assert "bind refused: wrong password (ESME_RINVPASWD)" in page  # the Passerelles page
    assert "nope" not in page
    with pytest.raises(GatewayError, match="wrong password"):
        gateway(smsc.url(password="nope")).start(lambda e: None)


def test_a_refused_bind_or_a_closed_port_is_retried(smsc: Smsc) -> None:
    smsc.command("refuse 13")  # ESME_RBINDFAIL: the SMSC may take us later
    with pytest.raises(GatewayUnavailable, match="bind failed"):
        gateway(smsc.url()).start(lambda e: None)
    smsc.command("refuse 10")
    with pytest.raises(GatewayError, match="source address"):
        gateway(smsc.url()).start(lambda e: None)
    port = smsc.port
    smsc.close()
    with pytest.raises(GatewayUnavailable, match="connection refused"):
        gateway(f"smpp://smsdesk:secret@127.0.0.1:{port}").start(lambda e: None)


def test_a_bind_down_before_submit_hands_nothing_over(smsc: Smsc) -> None:
    queue(5)
    first = runner_for(gateway(smsc.url()))
    run_until(first, lambda: counts()[S.DELIVERED] == 5, "5 sent")
    first.gateway.stop()
    runner = runner_for(gateway(smsc.url()))
    drain(runner)
    smsc.kill()
    for s in runner.gateway.sessions:  # type: ignore[attr-defined]
        wait_for(lambda s=s: not s.up, 10, "the bind lost")
    queue(5)
    drain(runner)
    final = counts()
    assert final[S.QUEUED] == 5 and final[S.DELIVERED] == 5  # back to queued, no try used
    assert set(Message.objects.filter(status=S.QUEUED).values_list("attempts", flat=True)) == {0}
    assert "connection" in GatewayState.objects.get(name="op").down_reason
    runner.gateway.stop()


def test_an_idle_link_is_checked_and_a_silent_one_is_left_and_bound_again(smsc: Smsc) -> None:
    g = gateway(smsc.url("enquire_link=1&timeout=1"))
    g.start(lambda e: None)
    wait_for(lambda: smsc.stats()["enquiries"] >= 2, 20, "enquire_link on an idle link")
    [session] = g.sessions
    first = session.generation
    smsc.command("mute")  # no enquire_link_resp any more: the link is dead
    wait_for(lambda: not session.up, 20, "the dead link noticed")
    assert "no answer to enquire_link" in session.reason
    smsc.close()
    smsc.start()  # an SMSC that answers again, on the same port
    wait_for(lambda: session.up and session.generation > first, 30, "bound again")
    g.stop()


def test_the_line_paces_its_submits_at_tps() -> None:
    g = gateway("smpp://id:pw@127.0.0.1:2775?tps=5&window=10")
    t = 1000.0
    g._pacer._at = t
    g._pacer._tokens = 5.0
    assert [g._take_token(t) for _ in range(5)] == [0.0] * 5  # a second's worth at once
    assert g._take_token(t) == pytest.approx(0.2)  # then one every 1/tps
    assert g._take_token(t + 0.2) == 0.0
    assert g._take_token(t + 10) == 0.0 and g._pacer._tokens == pytest.approx(4.0)  # capped


def test_the_binds_of_a_line_are_its_lanes_and_share_its_pace() -> None:
    g = gateway("smpp://id:pw@127.0.0.1:2775?tps=5&window=10&binds=3&lanes=on")
    lanes = g.lanes()
    assert len(lanes) == 3 and {lane.name for lane in lanes} == {g.name}
    assert [lane.batch_size for lane in lanes] == [10, 10, 10]  # each its bind's window
    assert [[s.name for s in lane._new_sessions()] for lane in lanes] == [
        [f"{g.name}#1"],
        [f"{g.name}#2"],
        [f"{g.name}#3"],
    ]
    t = 1000.0
    g._pacer._at = t
    g._pacer._tokens = 5.0
    # The line's 5 a second, whichever lane sends: not 5 each.
    assert [lanes[i % 3]._take_token(t) for i in range(5)] == [0.0] * 5
    assert lanes[1]._take_token(t) == pytest.approx(0.2)
    one = gateway("smpp://id:pw@127.0.0.1:2775?window=10")
    assert one.lanes() == [one]
    line = gateway("smpp://id:pw@127.0.0.1:2775?window=10&binds=2")  # one thread: the default
    assert line.lanes() == [line]


@pytest.mark.parametrize(
    "option, words",
    [
        ("window=0", "window must be a whole number from 1 to 1000"),
        ("window=ten", "window must be a whole number"),
        ("tps=-1", "tps must be above 0"),
        ("tps=fast", "tps must be a number"),
        ("binds=99", "binds must be a whole number from 1 to 32"),
        ("bind=rx", "bind is trx"),
        ("long=sar", "long is udh"),
        ("registered=maybe", "registered is 1 or 0"),
        ("source=TOO-LONG-NAME", "alphanumeric source is 1 to 11"),
        ("source_ton=9", "source_ton must be"),
        ("msg_id_type=7", "msg_id_type is 0, 1, 2 or 3"),
        ("coding=ascii", "coding is gsm7 or latin1"),
        ("enquire_link=0", "enquire_link must be a number of seconds"),
        ("colour=red", "unknown option(s) colour"),
    ],
)
def test_a_wrong_option_is_refused_with_what_to_fix(option: str, words: str) -> None:
    with pytest.raises(GatewayError, match=None) as e:
        registry.check([f"op=smpp://id:pw@127.0.0.1:2775?{option}"])
    assert words in str(e.value) and "gateway op" in str(e.value)


@pytest.mark.parametrize(
    "target, words",
    [
        ("smpp:127.0.0.1", "say where the SMSC is"),
        ("smpp://127.0.0.1:2775", "say the system_id"),
        ("smpp://id:pw@127.0.0.1:99999", "port"),
        ("smpp://id:longerthan8@h:2775", "password is at most 8"),
        ("smpp://id:pw@h:2775/path", "nothing may follow host:port"),
    ],
)
def test_a_wrong_address_is_refused_without_showing_the_password(target: str, words: str) -> None:
    with pytest.raises(GatewayError) as e:
        registry.check([f"op={target}"])
    assert words in str(e.value)
    assert "longerthan8" not in str(e.value)


def test_the_password_never_shows() -> None:
    spec = registry.parse_spec("op=smpp://myshop:s3cret@smsc.example:2775?window=5")
    assert "s3cret" not in repr(spec) and "***" in repr(spec)
    assert "s3cret" not in repr(gateway("smpp://myshop:s3cret@smsc.example:2775").config)
    assert registry.masked("op=smpp://myshop:s3cret@h:2775") == "op=smpp://myshop:***@h:2775"
