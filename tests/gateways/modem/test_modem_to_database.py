"""The modem gateway's events recorded by the worker's event handler into the database:
multipart out of order and across a restart, a STOP, a call; nothing lost, nothing twice."""

from __future__ import annotations

import pytest

from smsdesk.calls.models import Call
from smsdesk.messaging.models import Message
from smsdesk.optout.models import OptOut
from smsdesk.worker.inbound import EventHandler
from tests.gateways.modem.conftest import Recorder, wait_for

pytestmark = pytest.mark.django_db

LONG = "Bonjour, je confirme ma présence à la réunion de jeudi, avec deux collègues. " * 3


def commit_then_acknowledge(gateway, worker: Recorder, handler: EventHandler) -> None:  # type: ignore[no-untyped-def]
    events = list(worker.events)
    worker.events.clear()
    assert handler.handle(events) == []  # committed
    gateway.acknowledge(events)  # only then deleted from the SIM


def test_long_sms_across_a_restart_a_stop_and_a_call(make_emulator, make_gateway):
    emulator = make_emulator(profile="simcom")
    pdus = emulator.deliver("+33611111111", LONG, order=[1])  # part 2 of 2 arrives first
    first, seen = make_gateway(emulator), Recorder()
    first.start(seen)
    wait_for(lambda: seen.inbound)
    commit_then_acknowledge(first, seen, EventHandler())
    first.stop()  # the worker restarts; part 1 not there yet

    emulator.deliver_pdu(pdus[0])  # arrives while no worker runs
    emulator.deliver("+33622222222", "STOP")
    gateway, worker = make_gateway(emulator), Recorder()
    gateway.start(worker)  # read from the SIM at start
    emulator.ring("+33633333333", rings=2)
    wait_for(lambda: len(worker.inbound) == 2 and worker.calls)
    commit_then_acknowledge(gateway, worker, EventHandler())

    wait_for(lambda: emulator.messages_left() == 0)
    received = Message.objects.filter(direction=Message.Direction.INBOUND)
    assert sorted(received.values_list("peer", "body")) == [
        ("+33611111111", LONG),
        ("+33622222222", "STOP"),
    ]
    assert OptOut.objects.filter(number="+33622222222").exists()
    assert list(Call.objects.values_list("caller", flat=True)) == ["+33633333333"]
