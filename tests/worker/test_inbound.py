from __future__ import annotations

import pytest
from django.core.management import call_command

from smsdesk.calls.models import Call
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging.models import Conversation, Message
from smsdesk.optout.models import OptOut
from smsdesk.worker.loop import Worker
from tests.worker.helpers import drain, runner_for


def deliver_injections(gateway: SimulatorGateway) -> None:
    """What the running worker does: pick up `smsdesk simulate` rows, record the events."""
    worker = Worker([gateway])
    runner = runner_for(gateway, worker.id)
    worker.runners = [runner]
    worker.inject_simulated()
    drain(runner)


@pytest.mark.django_db(transaction=True)
def test_simulate_inbound_lands_in_received_unread() -> None:
    call_command("simulate", "inbound", "--from", "+33698765432", "--text", "Bonjour !")
    deliver_injections(SimulatorGateway())
    msg = Message.objects.get(direction=Message.Direction.INBOUND)
    assert (msg.peer, msg.body, msg.status) == ("+33698765432", "Bonjour !", "unread")
    conv = Conversation.objects.get(peer="+33698765432")
    assert conv.unread_count == 1 and conv.last_body == "Bonjour !"


@pytest.mark.django_db(transaction=True)
def test_stop_puts_the_sender_on_the_stop_list() -> None:
    call_command("simulate", "inbound", "--from", "0698765432", "--text", "STOP")
    deliver_injections(SimulatorGateway())
    assert OptOut.objects.filter(number="+33698765432", source="sms").exists()


@pytest.mark.django_db(transaction=True)
def test_stop_inside_a_sentence_is_not_an_opt_out() -> None:
    call_command("simulate", "inbound", "--from", "0698765432", "--text", "ne stop pas svp")
    deliver_injections(SimulatorGateway())
    assert not OptOut.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_simulate_call_is_logged() -> None:
    call_command("simulate", "call", "--from", "+33698765432")
    deliver_injections(SimulatorGateway())
    assert Call.objects.get().caller == "+33698765432"


@pytest.mark.django_db(transaction=True)
def test_an_event_the_database_refuses_is_kept_and_recorded_later(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.messaging import services

    gateway = SimulatorGateway()
    runner = runner_for(gateway)
    real = services.receive_inbound
    calls = {"n": 0}

    def flaky(**kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(services, "receive_inbound", flaky)
    gateway.inject_inbound("+33698765432", "premier")
    gateway.inject_inbound("+33698765433", "second")
    runner.drain_events()
    assert list(Message.objects.values_list("body", flat=True)) == ["second"]
    runner.drain_events()
    assert sorted(Message.objects.values_list("body", flat=True)) == ["premier", "second"]
