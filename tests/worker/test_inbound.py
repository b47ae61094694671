from __future__ import annotations

import pytest
from django.core.management import call_command

from smsdesk.calls.models import Call
from smsdesk.gateways import simulator
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging.models import Conversation, Message
from smsdesk.optout.models import OptOut
from smsdesk.worker.gateway_store import DatabaseGatewayStore
from tests.worker.helpers import drain, runner_for


def deliver_injections() -> SimulatorGateway:
    """What the running worker does: its simulator finds the `smsdesk simulate` rows in its
    store when polled, the events are recorded, then acknowledged (removed from the store)."""
    store = DatabaseGatewayStore("simulator")
    gateway = SimulatorGateway(store=store)
    drain(runner_for(gateway))
    assert store.items(("inbound", "call")) == []  # acknowledged once recorded
    return gateway


@pytest.mark.django_db(transaction=True)
def test_simulate_inbound_lands_in_received_unread() -> None:
    call_command("simulate", "inbound", "--from", "+33698765432", "--text", "Bonjour !")
    deliver_injections()
    msg = Message.objects.get(direction=Message.Direction.INBOUND)
    assert (msg.peer, msg.body, msg.status) == ("+33698765432", "Bonjour !", "unread")
    conv = Conversation.objects.get(peer="+33698765432")
    assert conv.unread_count == 1 and conv.last_body == "Bonjour !"


@pytest.mark.django_db(transaction=True)
def test_stop_puts_the_sender_on_the_stop_list() -> None:
    call_command("simulate", "inbound", "--from", "0698765432", "--text", "STOP")
    deliver_injections()
    assert OptOut.objects.filter(number="+33698765432", source="sms").exists()


@pytest.mark.django_db(transaction=True)
def test_stop_inside_a_sentence_is_not_an_opt_out() -> None:
    call_command("simulate", "inbound", "--from", "0698765432", "--text", "ne stop pas svp")
    deliver_injections()
    assert not OptOut.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_simulate_call_is_logged() -> None:
    call_command("simulate", "call", "--from", "+33698765432")
    deliver_injections()
    assert Call.objects.get().caller == "+33698765432"


@pytest.mark.django_db(transaction=True)
def test_an_event_the_database_refuses_is_kept_and_recorded_later(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.messaging import receiving

    gateway = SimulatorGateway()
    runner = runner_for(gateway)
    runner.step()  # starts the gateway
    real = receiving.receive_inbound
    calls = {"n": 0}

    def flaky(**kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(receiving, "receive_inbound", flaky)
    gateway.inject_inbound("+33698765432", "premier")
    gateway.inject_inbound("+33698765433", "second")
    gateway.poll()
    runner.drain_events()
    assert list(Message.objects.values_list("body", flat=True)) == ["second"]
    # Only what is recorded is acknowledged: the network still holds the first one.
    [held] = gateway.store.items(("inbound",))
    assert held.payload["text"] == "premier"
    gateway.poll()  # not emitted twice while the worker holds it
    runner.drain_events()
    assert sorted(Message.objects.values_list("body", flat=True)) == ["premier", "second"]
    assert gateway.store.items(("inbound",)) == []


@pytest.mark.django_db(transaction=True)
def test_two_identical_sms_in_the_same_second_are_two_sms() -> None:
    store = DatabaseGatewayStore("simulator")
    same = simulator.injected_sms("+33698765432", "Oui")
    store.put([same, same])  # one phone, one text, one second: sent twice on purpose
    deliver_injections()
    received = Message.objects.filter(direction=Message.Direction.INBOUND)
    assert [m.body for m in received] == ["Oui", "Oui"]
    assert len({m.created_at for m in received}) == 1
    assert Conversation.objects.get(peer="+33698765432").unread_count == 2


@pytest.mark.django_db(transaction=True)
def test_an_sms_emitted_again_after_a_crash_is_stored_once() -> None:
    store = DatabaseGatewayStore("simulator")
    store.put([simulator.injected_sms("+33698765432", "Oui")])
    # A worker records it, then dies before acknowledging it: it stays in the network's store.
    first = SimulatorGateway(store=store)
    first.acknowledge = lambda events: None  # type: ignore[method-assign]
    runner_for(first).step()
    assert Message.objects.filter(direction="in").count() == 1
    assert len(store.items(("inbound",))) == 1
    deliver_injections()  # the next worker emits it again, and acknowledges it
    assert Message.objects.filter(direction="in").count() == 1
    assert Conversation.objects.get(peer="+33698765432").unread_count == 1
