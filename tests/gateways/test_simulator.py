"""The simulated network: what it accepts, refuses, reports, and the record it keeps."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smsdesk.gateways.base import (
    DeliveryState,
    GatewayEvent,
    GatewayUnavailable,
    Health,
    InboundSMS,
    IncomingCall,
    MemoryStore,
    OutboundSMS,
    StatusReport,
)
from smsdesk.gateways.simulator import SimulatorGateway, outage, read_log


def started(gateway: SimulatorGateway) -> list[GatewayEvent]:
    events: list[GatewayEvent] = []
    gateway.start(events.append)
    return events


def reports(events: list[GatewayEvent]) -> list[StatusReport]:
    return [e for e in events if isinstance(e, StatusReport)]


def test_it_says_it_is_connected_when_started() -> None:
    events = started(SimulatorGateway("sim"))
    assert events == [
        Health("sim", connected=True, detail="simulated network", operator="SIM", at=events[0].at)
    ]


def test_accepts_then_reports_delivered_after_the_delay() -> None:
    gateway = SimulatorGateway("sim", delivery_delay=0.3)
    events = started(gateway)
    [result] = gateway.send_many([OutboundSMS(7, "+33612345678", "Bonjour")])
    assert result.accepted and result.message_id == 7 and result.reference

    gateway.poll()
    assert reports(events) == []  # not before its time
    time.sleep(0.35)
    gateway.poll()
    [report] = reports(events)
    assert (report.reference, report.state) == (result.reference, DeliveryState.DELIVERED)
    gateway.poll()
    assert len(reports(events)) == 1  # reported once only


def test_a_zero_delay_reports_at_the_next_poll() -> None:
    gateway = SimulatorGateway("sim", delivery_delay=0)
    events = started(gateway)
    results = gateway.send_many([OutboundSMS(i, f"+3361234567{i}", "x") for i in range(3)])
    gateway.poll()
    assert [r.reference for r in results] == [r.reference for r in reports(events)]


def test_configured_numbers_fail_permanently_temporarily_or_after_acceptance() -> None:
    gateway = SimulatorGateway(
        "sim",
        delivery_delay=0,
        fail_permanent=["+33600000001"],
        fail_temporary=["+33600000002"],
        undeliverable=["+33600000003"],
    )
    events = started(gateway)
    permanent, temporary, undeliverable, fine = gateway.send_many(
        [OutboundSMS(i, f"+3360000000{i}", "x") for i in (1, 2, 3, 4)]
    )
    gateway.poll()
    assert not permanent.accepted and permanent.permanent and permanent.error
    assert not temporary.accepted and not temporary.permanent and temporary.error
    assert undeliverable.accepted and fine.accepted
    states = {r.reference: r.state for r in reports(events)}
    assert states == {
        undeliverable.reference: DeliveryState.FAILED,
        fine.reference: DeliveryState.DELIVERED,
    }
    # Only what the network accepted counts as handed over.
    assert [m.id for m in gateway.handed] == [3, 4]


def test_references_are_unique_across_instances() -> None:
    # A restarted worker gets a new simulator: its reports must not match old messages.
    a, b = SimulatorGateway("sim"), SimulatorGateway("sim")
    started(a), started(b)
    ref_a = a.send_many([OutboundSMS(1, "+33612345678", "x")])[0].reference
    ref_b = b.send_many([OutboundSMS(1, "+33612345678", "x")])[0].reference
    assert ref_a != ref_b


def test_the_log_keeps_every_message_handed_over(tmp_path: Path) -> None:
    log = tmp_path / "handed.jsonl"
    gateway = SimulatorGateway("sim", log=log, fail_permanent=["+33600000001"])
    started(gateway)
    gateway.send_many([OutboundSMS(1, "+33612345678", "Réunion à 10h €")])
    gateway.send_many([OutboundSMS(2, "+33600000001", "refused"), OutboundSMS(3, "+44", "y")])
    handed = read_log(log)
    assert all(isinstance(entry.pop("t"), float) for entry in handed)  # when it began
    assert handed == [
        {"id": 1, "to": "+33612345678", "text": "Réunion à 10h €"},
        {"id": 3, "to": "+44", "text": "y"},
    ]
    assert read_log(tmp_path / "missing.jsonl") == []


def test_injected_sms_and_calls_come_out_as_events() -> None:
    gateway = SimulatorGateway("sim")
    events = started(gateway)
    gateway.inject_inbound("+33698765432", "STOP")
    gateway.inject_call("+33698765432")
    gateway.poll()
    inbound, call = events[1:]
    assert isinstance(inbound, InboundSMS) and (inbound.sender, inbound.text) == (
        "+33698765432",
        "STOP",
    )
    assert isinstance(call, IncomingCall) and call.caller == "+33698765432"


def test_a_stopped_gateway_emits_nothing() -> None:
    gateway = SimulatorGateway("sim")
    events = started(gateway)
    gateway.stop()
    gateway.inject_inbound("+33698765432", "x")
    assert len(events) == 1


def test_a_long_text_goes_as_parts_each_with_its_reference_and_report() -> None:
    gateway = SimulatorGateway("sim", delivery_delay=0)
    events = started(gateway)
    text = "ж" * 140  # UCS-2: 67 characters a part -> 3 parts
    [result] = gateway.send_many([OutboundSMS(1, "+33612345678", text)])
    assert result.accepted and len(result.references) == 3 and len(set(result.references)) == 3
    gateway.poll()
    assert sorted(r.reference for r in reports(events)) == sorted(result.references)


def test_reports_wait_in_the_store_until_acknowledged() -> None:
    # Like a network: what it owes stays until the platform says it has it.
    store = MemoryStore()
    first = SimulatorGateway("sim", delivery_delay=0, store=store)
    events = started(first)
    [result] = first.send_many([OutboundSMS(1, "+33612345678", "x")])
    first.poll()
    first.poll()
    assert len(reports(events)) == 1  # emitted once while unacknowledged
    # The worker died before recording it: a new instance on the same store reports again.
    second = SimulatorGateway("sim", delivery_delay=0, store=store)
    again = started(second)
    second.poll()
    [report] = reports(again)
    assert report.reference == result.reference
    second.acknowledge([report])
    assert store.items(("report",)) == []


def test_an_outage_refuses_every_hand_over_as_nothing_handed_over() -> None:
    store = MemoryStore()
    gateway = SimulatorGateway("sim", delivery_delay=0, store=store)
    started(gateway)
    store.put([outage(60)])
    with pytest.raises(GatewayUnavailable, match="unreachable"):
        gateway.send_many([OutboundSMS(1, "+33612345678", "x")])
    with pytest.raises(GatewayUnavailable):
        SimulatorGateway("sim", store=store).start(lambda e: None)
    assert gateway.handed == []
    store.delete([i.id for i in store.items(("outage",))])
    assert gateway.send_many([OutboundSMS(1, "+33612345678", "x")])[0].accepted
