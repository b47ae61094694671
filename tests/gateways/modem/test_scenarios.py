"""The real modem driver against the AT modem emulator on a pseudo-terminal, one scenario per
test. After each: nothing lost, nothing duplicated, nothing sent twice (the emulator counts
the SMS-SUBMIT PDUs it accepted)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import pytest

from smsdesk.gateways.base import (
    DeliveryState,
    GatewayError,
    GatewayUnavailable,
    OutboundSMS,
    Outcome,
)
from smsdesk.gateways.modem import Timeouts
from tests.gateways.modem.conftest import FAST, Recorder, wait_for

LONG = "Rendez-vous demain à 9h, salle B. Apportez vos badges [accès] et 10€. " * 5  # 3 parts


def reassemble(parts: list) -> str:
    return "".join(p.text for p in sorted(parts, key=lambda p: p.concat.seq))


def send(gateway, text: str, to: str = "+33612345678", message_id: int = 1):  # type: ignore[no-untyped-def]
    [result] = gateway.send_many([OutboundSMS(message_id, to, text)])
    return result


@pytest.mark.parametrize("profile", ["huawei", "simcom", "quectel"])
def test_single_and_multipart_send_with_reports_matched_per_part(
    make_emulator, make_gateway, profile
):
    emulator = make_emulator(profile=profile)
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)

    single = send(gateway, "Bonjour", message_id=1)
    multi = send(gateway, LONG, message_id=2)

    assert single.outcome is Outcome.ACCEPTED and single.references == ("1",)
    assert multi.outcome is Outcome.ACCEPTED and len(multi.references) == 3
    assert emulator.sent_texts() == ["Bonjour", LONG]
    assert [s.udh["PartNumber"] for s in emulator.submitted[1:]] == [1, 2, 3]
    assert [str(s.mr) for s in emulator.submitted] == [*single.references, *multi.references]
    assert all(s.report for s in emulator.submitted)

    wait_for(lambda: len(worker.reports) == 4)
    assert sorted(r.reference for r in worker.reports) == sorted(
        [*single.references, *multi.references]
    )
    assert {r.state for r in worker.reports} == {DeliveryState.DELIVERED}
    gateway.acknowledge(worker.reports)
    wait_for(lambda: emulator.messages_left() == 0)
    assert len(emulator.submitted) == 4  # nothing sent twice


def test_a_failed_delivery_report_says_failed(make_emulator, make_gateway):
    emulator = make_emulator(profile="quectel", reports_delivered=False)
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)
    result = send(gateway, "Bonjour")
    wait_for(lambda: worker.reports)
    [report] = worker.reports
    assert report.reference == result.references[0]
    assert report.state is DeliveryState.FAILED and report.detail


def test_inbound_single_and_multipart_out_of_order_deleted_only_after_acknowledge(
    make_emulator, make_gateway
):
    emulator = make_emulator(profile="simcom")
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)

    emulator.deliver("+33611111111", "Ça marche 👍")
    emulator.deliver("+33622222222", LONG, order=[2, 0, 1])
    wait_for(lambda: len(worker.inbound) == 4)

    single = [e for e in worker.inbound if e.concat is None]
    parts = [e for e in worker.inbound if e.concat is not None]
    assert [(e.sender, e.text) for e in single] == [("+33611111111", "Ça marche 👍")]
    assert [p.concat.seq for p in parts] == [3, 1, 2]
    assert {(p.concat.total, p.concat.ref) for p in parts} == {(3, parts[0].concat.ref)}
    assert reassemble(parts) == LONG
    assert emulator.messages_left() == 4  # nothing deleted before the worker's commit

    gateway.acknowledge(worker.inbound)
    wait_for(lambda: emulator.messages_left() == 0)
    assert len(worker.inbound) == 4  # nothing emitted twice


def test_a_call_is_logged_once_and_hung_up(make_emulator, make_gateway):
    emulator = make_emulator()
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)
    emulator.ring("+33655555555", rings=4)
    wait_for(lambda: emulator.call_hung_up)
    [call] = worker.calls
    assert call.caller == "+33655555555"
    assert "ATH" in emulator.commands


def test_a_call_rings_on_when_hanging_up_is_off(make_emulator, make_gateway):
    emulator = make_emulator(ring_every=0.05)
    gateway, worker = make_gateway(emulator, hangup=False), Recorder()
    gateway.start(worker)
    emulator.ring("+33655555555", rings=6)
    wait_for(lambda: emulator._call["left"] == 0)
    wait_for(lambda: worker.calls)
    time.sleep(0.2)
    assert len(worker.calls) == 1  # one call, however many RINGs
    assert "ATH" not in emulator.commands and not emulator.call_hung_up


def test_unsolicited_lines_inside_answers(make_emulator, make_gateway):
    emulator = make_emulator(profile="huawei")
    emulator.deliver("+33611111111", "déjà là")  # stored before we start
    urcs = ["^RSSI:17", '+CMTI: "SM",0', "^BOOT:1,0,0,0,0", "RING", "+CREG: 1", "^MODE:5,4"]
    emulator.script.inside_answers.extend(urcs * 8)
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)

    result = send(gateway, LONG)
    emulator.script.inside_answers.extend(['+CMTI: "SM",0', "^RSSI:3"])
    emulator.deliver("+33633333333", "pendant l'envoi")
    second = send(gateway, "ok", message_id=2)

    assert result.outcome is Outcome.ACCEPTED and len(result.references) == 3
    assert second.outcome is Outcome.ACCEPTED
    wait_for(lambda: len(worker.inbound) == 2)
    assert sorted(e.text for e in worker.inbound) == ["déjà là", "pendant l'envoi"]
    assert len(emulator.submitted) == 4


@pytest.mark.parametrize(
    ("error", "permanent", "reason"),
    [
        ("+CMS ERROR: 38", False, "the mobile network is busy or out of order, try later"),
        ("+CMS ERROR: 42", False, "the mobile network is busy or out of order, try later"),
        ("+CMS ERROR: 21", True, "the network rejected the message"),
        ("+CMS ERROR: 28", True, "number unknown to the network"),
    ],
)
def test_cms_errors_are_temporary_or_permanent(
    make_emulator, make_gateway, error, permanent, reason
):
    emulator = make_emulator()
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)
    emulator.script.cms_errors.append(error)

    refused = send(gateway, "Bonjour", message_id=1)
    after = send(gateway, "Encore", message_id=2)

    assert refused.outcome is Outcome.REFUSED
    assert (refused.permanent, refused.error) == (permanent, reason)
    assert after.outcome is Outcome.ACCEPTED  # one refusal does not break the modem
    assert emulator.sent_texts() == ["Encore"]


def test_no_prompt_means_nothing_handed_over_and_the_modem_is_reset(make_emulator, make_gateway):
    emulator = make_emulator()
    gateway, worker = make_gateway(emulator, timeouts=replace(FAST, prompt=0.5)), Recorder()
    gateway.start(worker)
    emulator.script.no_prompt = 1

    result = send(gateway, "Bonjour")
    assert result.outcome is Outcome.NOT_HANDED_OVER and result.references == ()

    wait_for(lambda: gateway.connected)  # reset and set up again by itself
    again = send(gateway, "Bonjour", message_id=2)
    assert again.outcome is Outcome.ACCEPTED
    assert emulator.sent_texts() == ["Bonjour"]  # sent once


def test_a_pdu_without_answer_is_maybe_handed_over_keeping_the_parts_that_went(
    make_emulator, make_gateway
):
    emulator = make_emulator()
    gateway, worker = make_gateway(emulator, timeouts=replace(FAST, send=0.5)), Recorder()
    gateway.start(worker)
    emulator.script.swallow_pdu = 1
    single = send(gateway, "Bonjour", message_id=1)
    assert single.outcome is Outcome.MAYBE_HANDED_OVER and single.references == ()

    wait_for(lambda: gateway.connected)
    # Part 2 of 3 gets no answer: part 1's reference is kept.
    original = emulator._submit
    calls = []

    def swallow_second(length, pdu_hex):  # type: ignore[no-untyped-def]
        calls.append(pdu_hex)
        if len(calls) == 2:
            return None
        return original(length, pdu_hex)

    emulator._submit = swallow_second
    multi = send(gateway, LONG, message_id=2)
    assert multi.outcome is Outcome.MAYBE_HANDED_OVER
    assert multi.references == (str(emulator.submitted[-1].mr),)
    assert len(calls) == 2  # part 3 never written
    assert multi.error


def test_modem_silent_for_a_while_then_back(make_emulator, make_gateway):
    emulator = make_emulator()
    short = Timeouts(command=0.5, prompt=0.5, send=0.5, reconnect_max=0.4)
    gateway, worker = make_gateway(emulator, timeouts=short), Recorder()
    gateway.start(worker)
    # Silent for 5 command timeouts: the "30 s" of a real modem, scaled to the test.
    emulator.script.silent_until = time.monotonic() + 2.5

    first = send(gateway, "Bonjour")
    assert first.outcome is Outcome.NOT_HANDED_OVER
    with pytest.raises(GatewayUnavailable):
        send(gateway, "Bonjour", message_id=2)  # down: the worker backs off, no try used

    wait_for(lambda: gateway.connected, timeout=20)
    again = send(gateway, "Bonjour", message_id=3)
    assert again.outcome is Outcome.ACCEPTED
    assert emulator.sent_texts() == ["Bonjour"]
    assert any(not h.connected for h in worker.health)


def test_device_removed_and_back(make_emulator, make_gateway):
    emulator = make_emulator(pin="1234")
    gateway, worker = make_gateway(emulator, pin="1234"), Recorder()
    gateway.start(worker)
    assert send(gateway, "avant").outcome is Outcome.ACCEPTED

    emulator.unplug()
    wait_for(lambda: not gateway.connected)
    with pytest.raises(GatewayUnavailable, match=r"unplugged|cannot be found"):
        send(gateway, "pendant", message_id=2)
    time.sleep(0.5)  # a few reconnection attempts against a missing port
    emulator.plug()
    emulator.deliver("+33611111111", "de retour")

    wait_for(lambda: gateway.connected)
    assert send(gateway, "après", message_id=3).outcome is Outcome.ACCEPTED
    wait_for(lambda: worker.inbound)
    assert emulator.sent_texts() == ["avant", "après"]
    assert emulator.pin_attempts == ["1234", "1234"]  # the right PIN, again after power-up
    assert [e.text for e in worker.inbound] == ["de retour"]
    assert any(not h.connected and "unplugged" in h.detail for h in worker.health)


def test_sim_full_is_reported_and_emptied_by_acknowledgements(make_emulator, make_gateway):
    emulator = make_emulator(capacity=3)
    for i in range(5):  # three fill the SIM, two wait in the network
        emulator.deliver(f"+3361111111{i}", f"message {i}")
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)

    wait_for(lambda: len(worker.inbound) == 3)
    assert any(h.detail == "the SIM memory for SMS is full" for h in worker.health)
    while len(worker.inbound) < 5:
        gateway.acknowledge(worker.inbound)
        time.sleep(0.05)
    gateway.acknowledge(worker.inbound)
    wait_for(lambda: emulator.messages_left() == 0)
    texts = Counter(e.text for e in worker.inbound)
    assert texts == Counter(f"message {i}" for i in range(5))  # all, once each


@pytest.mark.parametrize("tells_tries_left", [True, False])
def test_wrong_pin_is_sent_exactly_once(make_emulator, make_gateway, tells_tries_left):
    emulator = make_emulator(pin="1234")
    if not tells_tries_left:  # older firmwares: only our own memory protects the SIM
        emulator.profile = {**emulator.profile, "pin_query": "none"}
    gateway = make_gateway(emulator, pin="0000")
    with pytest.raises(GatewayError, match="wrong PIN") as raised:
        gateway.start(Recorder())
    assert not isinstance(raised.value, GatewayUnavailable)  # not retried by the worker
    with pytest.raises(GatewayError, match="wrong PIN"):
        gateway.start(Recorder())  # the worker restarts it anyway: still no second try
    assert emulator.pin_attempts == ["0000"]
    assert emulator.pin_tries == 2


def test_a_pin_is_not_tried_on_a_sim_that_already_lost_a_try(make_emulator, make_gateway):
    for profile in ("huawei", "simcom", "quectel"):
        emulator = make_emulator(pin="1234", pin_tries=2, profile=profile)
        with pytest.raises(GatewayError, match="wrong PIN"):
            make_gateway(emulator, pin="1234").start(Recorder())
        assert emulator.pin_attempts == []


def test_a_sim_asking_for_a_pin_without_one_configured_says_so(make_emulator, make_gateway):
    emulator = make_emulator(pin="1234")
    with pytest.raises(GatewayError, match="asks for a PIN"):
        make_gateway(emulator).start(Recorder())
    assert emulator.pin_attempts == []


def test_restart_with_messages_left_on_the_sim(make_emulator, make_gateway):
    emulator = make_emulator()
    emulator.deliver("+33611111111", "premier")
    emulator.deliver("+33622222222", LONG)

    crashed, seen = make_gateway(emulator), Recorder()
    crashed.start(seen)
    wait_for(lambda: len(seen.inbound) == 4)
    crashed.stop()  # the worker died before its commit: nothing acknowledged
    assert emulator.messages_left() == 4

    restarted, worker = make_gateway(emulator), Recorder()
    restarted.start(worker)
    wait_for(lambda: len(worker.inbound) == 4)
    assert sorted(e.text for e in worker.inbound) == sorted(e.text for e in seen.inbound)
    assert emulator.messages_left() == 4
    restarted.acknowledge(worker.inbound)
    wait_for(lambda: emulator.messages_left() == 0)
    time.sleep(0.1)
    assert len(worker.inbound) == 4


def test_acknowledgements_while_unplugged_are_done_after_reconnecting(make_emulator, make_gateway):
    emulator = make_emulator()
    emulator.deliver("+33611111111", "à effacer")
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)
    wait_for(lambda: worker.inbound)
    emulator.unplug()
    wait_for(lambda: not gateway.connected)
    gateway.acknowledge(worker.inbound)  # the worker committed while the modem was away
    emulator.plug()
    wait_for(lambda: emulator.messages_left() == 0)
    assert len(worker.inbound) == 1  # deleted, not emitted again


def test_health_reports_signal_operator_and_identity(make_emulator, make_gateway):
    emulator = make_emulator(profile="quectel")
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)
    wait_for(lambda: worker.health)
    health = worker.health[-1]
    assert health.connected and health.signal_percent == 58 and health.operator == "Orange F"
    assert health.extra["model"] == "EC25" and health.extra["imei"] == "866123456789012"
    assert health.extra["sim"] == "ready"


def test_a_missing_port_is_unavailable_not_fatal(tmp_path, make_gateway):
    class Missing:
        path = str(tmp_path / "ttyUSB9")

    with pytest.raises(GatewayUnavailable, match="cannot be found"):
        make_gateway(Missing()).start(Recorder())
