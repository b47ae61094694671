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
