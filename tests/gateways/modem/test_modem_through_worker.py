"""The modem gateway driven by the real worker (threads, database, acknowledgements) against
the emulator: what a user saves goes out as AT+CMGS PDUs and becomes delivered from the
modem's status reports, part by part; an inbound SMS, a STOP and a call reach the database,
and the SMS leaves the SIM only once committed."""

from __future__ import annotations

import threading

import pytest

from smsdesk.calls.models import Call
from smsdesk.gateways.modem import build_modem
from smsdesk.gateways.registry import parse_spec
from smsdesk.messaging import sending
from smsdesk.messaging.models import GatewayState, Message, MessagePart
from smsdesk.optout.models import OptOut
from smsdesk.worker.loop import Worker
from tests.gateways.modem.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LONG = "Rendez-vous jeudi à 14 h devant la mairie, apportez vos papiers et vos questions. " * 2
S = Message.Status


def test_the_worker_sends_receives_and_hangs_up_through_the_modem(make_emulator, settings) -> None:  # type: ignore[no-untyped-def]
    emulator = make_emulator(profile="simcom", ring_every=0.1)
    settings.SMSDESK_GATEWAYS = [f"modem:{emulator.path}?health_every=60"]
    gateway = build_modem(parse_spec(settings.SMSDESK_GATEWAYS[0]))
    worker = Worker([gateway], idle_sleep=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        campaign = sending.create_campaign(author=None, body="Bonjour", to=["+33612345678"])
        long_campaign = sending.create_campaign(author=None, body=LONG, to=["+33687654321"])
        short = Message.objects.get(campaign=campaign)
        long = Message.objects.get(campaign=long_campaign)
        wait_for(lambda: Message.objects.filter(status=S.DELIVERED).count() == 2, 30)
        assert len(emulator.submitted) == 3  # 1 + 2 parts, each once
        assert sorted(s.number for s in emulator.submitted) == [
            "+33612345678",
            "+33687654321",
            "+33687654321",
        ]
        parts = MessagePart.objects.filter(message_id=long.id).order_by("seq")
        assert [p.state for p in parts] == ["delivered", "delivered"]
        assert MessagePart.objects.get(message_id=short.id).state == "delivered"

        emulator.deliver("+33611111111", "Merci, à jeudi")
        emulator.deliver("+33622222222", "STOP")
        wait_for(lambda: Message.objects.filter(direction=Message.Direction.INBOUND).count() == 2)
        wait_for(lambda: emulator.messages_left() == 0)  # deleted after the commit
        assert OptOut.objects.filter(number="+33622222222").exists()

        emulator.ring("+33633333333", rings=3)
        wait_for(lambda: Call.objects.filter(caller="+33633333333").exists())
        wait_for(lambda: emulator.call_hung_up)
        state = GatewayState.objects.get(name="modem")
        assert state.down_since is None
    finally:
        worker.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert sorted(
        Message.objects.filter(direction=Message.Direction.INBOUND).values_list("peer", "body")
    ) == [("+33611111111", "Merci, à jeudi"), ("+33622222222", "STOP")]
    # Nothing sent twice: the three parts, and the STOP's confirmation if there is one.
    sent_to = [s.number for s in emulator.submitted]
    assert sorted(sent_to[:3]) == ["+33612345678", "+33687654321", "+33687654321"]
    assert sent_to[3:] in ([], ["+33622222222"])
