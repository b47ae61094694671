"""A line shared by several organisations, each with its own sender names (issue 16: "each
gateway is assigned to one organisation (or shared by several, each with its own sender
names)"): each organisation's SMS leave with its sender; an SMS addressed to B's sender is
B's only; a STOP to A's sender blocks A's next send to that number and not B's; a modem line
cannot be shared."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import LineAssignment, Organisation
from smsdesk.core import tenancy
from smsdesk.core.errors import ServiceError
from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.registry import parse_spec
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import lines, sending
from smsdesk.messaging.models import Message
from smsdesk.optout.models import OptOut
from smsdesk.tenants import organisations
from tests.worker.helpers import drain, runner_for

SAME = "+33612345678"
SHARED = ["shared=simulator?org=a,b&sender.a=CABINET&sender.b=GARAGE,+33700000002"]


def two_orgs() -> tuple[Organisation, Organisation]:
    tenancy.sole_organisation()
    return (
        Organisation.objects.create(name="A", slug="a"),
        Organisation.objects.create(name="B", slug="b"),
    )


def _sent(line: SimulatorGateway) -> dict[int, str]:
    return {m.id: m.sender for m in line.handed}


@pytest.mark.django_db
def test_each_sends_with_its_sender_and_replies_and_stops_follow_the_sender(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = SHARED
    a, b = two_orgs()
    assert lines.lines_of(a) == ["shared"] and lines.lines_of(b) == ["shared"]
    line = SimulatorGateway("shared", delivery_delay=0)
    runner = runner_for(line)
    [to_a] = sending.create_campaign(author=None, org=a, body="A", to=[SAME]).created_messages
    [to_b] = sending.create_campaign(author=None, org=b, body="B", to=[SAME]).created_messages
    drain(runner)
    assert _sent(line) == {to_a.id: "CABINET", to_b.id: "GARAGE"}
    # a reply addressed to B's sender lands in B only (B's second sender, a number, too)
    line.inject_inbound(SAME, "Pour le garage", to="GARAGE")
    line.inject_inbound(SAME, "Au garage aussi", to="+33700000002")
    drain(runner)
    assert set(
        Message.objects.for_org(b).filter(direction="in").values_list("body", flat=True)
    ) == {
        "Pour le garage",
        "Au garage aussi",
    }
    assert not Message.objects.for_org(a).filter(direction="in").exists()
    # a STOP to A's sender blocks A's next send to that number, and not B's
    line.inject_inbound(SAME, "STOP", to="cabinet")
    drain(runner)
    assert OptOut.objects.for_org(a).filter(number=SAME).exists()
    assert not OptOut.objects.for_org(b).filter(number=SAME).exists()
    [again_a] = sending.create_campaign(author=None, org=a, body="A2", to=[SAME]).created_messages
    [again_b] = sending.create_campaign(author=None, org=b, body="B2", to=[SAME]).created_messages
    assert again_a.status == Message.Status.BLOCKED
    assert again_b.status == Message.Status.QUEUED
    drain(runner)
    handed = _sent(line)
    assert again_a.id not in handed and handed[again_b.id] == "GARAGE"
    # the STOP's confirmation went out with A's sender
    notice = Message.objects.for_org(a).get(opt_out_notice=True)
    assert handed[notice.id] == "CABINET"


@pytest.mark.django_db
def test_without_a_destination_the_last_writer_else_the_first(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = SHARED
    a, b = two_orgs()
    line = SimulatorGateway("shared", delivery_delay=0)
    runner = runner_for(line)
    line.inject_inbound("+33611111111", "nobody wrote to me")  # no destination: the first
    line.inject_inbound(SAME, "to an unknown sender", to="NOBODY")
    drain(runner)
    assert Message.objects.for_org(a).filter(direction="in").count() == 2
    sending.create_campaign(author=None, org=b, body="B", to=[SAME])
    drain(runner)
    line.inject_inbound(SAME, "answer to B")  # B wrote to this number last on this line
    drain(runner)
    assert Message.objects.for_org(b).filter(direction="in", body="answer to B").exists()


def test_configuration_of_a_shared_line_and_its_mistakes() -> None:
    spec = parse_spec("op=smpp://u:p@h:2775?org=a,b&sender.a=CABINET&sender.b=+33612345678")
    assert spec.org == "a" and spec.shared == (("a", ("CABINET",)), ("b", ("+33612345678",)))
    for bad, said in [
        ("m=modem:/dev/ttyUSB0?org=a,b&sender.a=A&sender.b=B", "cannot be shared"),
        ("s=simulator?org=a,b&sender.a=A", "sender.b="),
        ("s=simulator?org=a&sender.a=A", "sender="),
        ("s=simulator?org=a,b&sender.a=A&sender.b=a", "same sender"),
        ("s=simulator?org=a,b&sender.a=A&sender.c=B", "sender.c"),
        ("s=simulator?org=a,b&sender.a=A&sender.b=TOO-LONG-A-NAME", "not a sender"),
    ]:
        with pytest.raises(GatewayError, match=said):
            parse_spec(bad)


@pytest.mark.django_db
def test_the_platform_shares_a_line_by_command_and_page_but_not_a_modem(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["shared=simulator", "sim=modem:/dev/ttyUSB9"]
    a, b = two_orgs()
    out = StringIO()
    call_command("org", "assign-line", "a", "shared", stdout=out)
    call_command("org", "assign-line", "b", "shared", "--share", "--sender", "GARAGE", stdout=out)
    assert lines.lines_of(b) == ["shared"] and lines.lines_of(a) == ["shared"]
    # the first organisation gets its sender from the page
    provider = accounts.create_user(username="provider", password="x" * 12, platform=True)
    client = Client()
    client.force_login(provider)
    answer = client.post(
        "/platform/organisations/a/lines/", {"line": "shared", "share": "1", "sender": "CABINET"}
    )
    assert answer.status_code == 302
    assert lines.sharers("shared") == ((a.id, ("CABINET",)), (b.id, ("GARAGE",)))
    page = client.get("/platform/").content.decode()
    assert "shared (" in page and "GARAGE" in page
    listed = StringIO()
    call_command("org", "list", stdout=listed)
    rows = {line.split("\t")[0]: line.split("\t")[2] for line in listed.getvalue().splitlines()}
    assert "CABINET" in rows["a"] and "GARAGE" in rows["b"] and "shared" in rows["b"]
    line = SimulatorGateway("shared", delivery_delay=0)
    [to_b] = sending.create_campaign(author=None, org=b, body="B", to=[SAME]).created_messages
    drain(runner_for(line))
    assert _sent(line) == {to_b.id: "GARAGE"}
    # a sender another organisation of the line has, a missing one, a modem: refused
    with pytest.raises(ServiceError, match=r"expéditeur|sender"):
        organisations.assign_line(a, "shared", share=True, sender="garage")
    with pytest.raises(ServiceError):
        organisations.assign_line(a, "shared", share=True, sender="")
    with pytest.raises(CommandError) as refused:
        call_command("org", "assign-line", "b", "sim", "--share", "--sender", "X")
    assert "modem" in str(refused.value)
    client.post("/platform/organisations/b/lines/", {"line": "sim", "share": "1", "sender": "X"})
    assert not LineAssignment.objects.filter(line="sim").exists()
    # given to one organisation alone again: no longer shared
    call_command("org", "assign-line", "a", "shared", stdout=out)
    assert lines.sharers("shared") == () and lines.lines_of(b) == []


@pytest.mark.django_db(transaction=True)
def test_a_shared_smpp_line_against_the_test_smsc(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    """The real SMSC process: each organisation's submit_sm carries its sender as
    source_addr; a deliver_sm's destination_addr says whose the SMS is."""
    import time

    from smsdesk.gateways import registry
    from tests.gateways.smsc import Smsc

    server = Smsc(tmp_path / "received.jsonl")
    try:
        entry = f"op={server.url('bind=tx%2Brx')}&org=a,b&sender.a=CABINET&sender.b=%2B33700000002"
        settings.SMSDESK_GATEWAYS = [entry]
        a, b = two_orgs()
        runner = runner_for(registry.build(registry.parse_spec(entry)))
        sending.create_campaign(author=None, org=a, body="A", to=[SAME])
        sending.create_campaign(author=None, org=b, body="B", to=[SAME])
        deadline = time.monotonic() + 30
        while len(server.received()) < 2:
            assert time.monotonic() < deadline, "the two SMS never reached the SMSC"
            drain(runner)
            time.sleep(0.02)
        sent = sorted((r["from"], r["ton"], r["to"]) for r in server.received())
        assert sent == [("33700000002", 1, SAME[1:]), ("CABINET", 5, SAME[1:])]
        server.command("mo +33612345678 33700000002 Pour B")
        server.command("mo +33612345678 CABINET STOP")
        while not (
            Message.objects.for_org(b).filter(direction="in").exists()
            and OptOut.objects.for_org(a).exists()
        ):
            assert time.monotonic() < deadline, "the two SMS never came in"
            drain(runner)
            time.sleep(0.02)
        assert list(
            Message.objects.for_org(b).filter(direction="in").values_list("body", flat=True)
        ) == ["Pour B"]
        assert not OptOut.objects.for_org(b).exists()
        assert not Message.objects.for_org(a).filter(direction="in", body="Pour B").exists()
        runner.gateway.stop()
    finally:
        server.close()


@pytest.mark.django_db
def test_a_suspended_organisations_messages_wait_on_the_shared_line(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = SHARED
    a, b = two_orgs()
    line = SimulatorGateway("shared", delivery_delay=0)
    runner = runner_for(line)
    organisations.set_active(a, active=False)
    try:
        [to_a] = sending.create_campaign(author=None, org=a, body="A", to=[SAME]).created_messages
        [to_b] = sending.create_campaign(author=None, org=b, body="B", to=[SAME]).created_messages
        drain(runner)
        assert _sent(line) == {to_b.id: "GARAGE"}  # the line still sends B's
        assert Message.objects.for_org(a).get(id=to_a.id).status == Message.Status.QUEUED
        organisations.set_active(a, active=True)
        drain(runner)
        assert _sent(line) == {to_b.id: "GARAGE", to_a.id: "CABINET"}
    finally:
        lines.forget_held()


@pytest.mark.django_db
def test_from_names_the_shared_line_by_the_organisations_own_sender(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = [*SHARED, "own-b=simulator?org=b&sender=OWNB"]
    a, b = two_orgs()
    [m] = sending.create_campaign(
        author=None, org=b, body="x", to=[SAME], gateway="garage"
    ).created_messages
    assert m.gateway_id == "shared"
    from smsdesk.messaging import errors

    with pytest.raises(errors.UnknownGateway):  # A's sender is not B's to use
        sending.create_campaign(author=None, org=b, body="x", to=[SAME], gateway="CABINET")
    with pytest.raises(errors.UnknownGateway):  # nor B's line A's
        sending.create_campaign(author=None, org=a, body="x", to=[SAME], gateway="OWNB")


@pytest.mark.django_db
def test_a_long_sms_in_parts_follows_its_destination_too(settings) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from smsdesk.gateways.base import Concat, InboundSMS
    from smsdesk.worker.inbound import EventHandler

    settings.SMSDESK_GATEWAYS = SHARED
    _a, b = two_orgs()
    parts = [
        InboundSMS(
            gateway="shared",
            sender=SAME,
            text=text,
            received_at=timezone.now(),
            concat=Concat(ref=9, total=2, seq=seq),
            destination="GARAGE",
        )
        for seq, text in ((2, "garage"), (1, "Pour le "))
    ]
    EventHandler().handle(parts)
    assert list(
        Message.objects.for_org(b).filter(direction="in").values_list("body", flat=True)
    ) == ["Pour le garage"]


@pytest.mark.django_db
def test_simulate_inbound_to_a_sender(settings) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.worker.gateway_store import DatabaseGatewayStore

    settings.SMSDESK_GATEWAYS = SHARED
    _a, b = two_orgs()
    call_command(
        "simulate",
        "inbound",
        "--from",
        SAME,
        "--text",
        "Bonjour",
        "--to",
        "GARAGE",
        stdout=StringIO(),
    )
    with pytest.raises(CommandError, match="--to"):
        call_command("simulate", "inbound", "--from", SAME, "--text", "x", "--to", "G" * 40)
    line = SimulatorGateway("shared", delivery_delay=0, store=DatabaseGatewayStore("shared"))
    drain(runner_for(line))
    assert Message.objects.for_org(b).filter(direction="in", body="Bonjour").exists()


@pytest.mark.django_db(transaction=True)
def test_a_shared_line_that_cannot_send_moves_each_ones_messages_to_its_own_line(settings) -> None:  # type: ignore[no-untyped-def]
    # failover of a shared line: A's waiting SMS go to A's other line and B's to B's, never
    # B's by A's line (A's number, A's sender)
    from smsdesk.messaging import routing
    from smsdesk.messaging.models import OutboxEntry

    settings.SMSDESK_GATEWAYS = [
        "shared=simulator?org=a,b&sender.a=CABINET&sender.b=GARAGE&failover=true",
        "line-a=simulator?org=a",
        "line-b=simulator?org=b",
    ]
    a, b = two_orgs()
    to_a = sending.create_campaign(author=None, org=a, body="A", to=[SAME, "+33612345679"])
    to_b = sending.create_campaign(author=None, org=b, body="B", to=[SAME])
    assert set(OutboxEntry.objects.values_list("gateway_id", flat=True)) == {"shared"}
    routing.pause("shared", by=None)
    assert routing.fail_over() == 3
    where = dict(Message.objects.values_list("id", "gateway_id"))
    assert {where[m.id] for m in to_a.created_messages} == {"line-a"}
    assert {where[m.id] for m in to_b.created_messages} == {"line-b"}
    assert dict(OutboxEntry.objects.values_list("message_id", "gateway_id")) == where
