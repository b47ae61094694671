"""What a modem needs of the worker and the services: an SMS emitted again after a crash
stored once, long SMS with missing parts stored by the housekeeping, the hang-up setting
reaching the modem, replies through the gateway the correspondent wrote to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from smsdesk.gateways.base import Concat
from smsdesk.messaging import gateway_state, receiving, sending
from smsdesk.messaging.errors import UnknownGateway
from smsdesk.messaging.models import Conversation, InboundPart, Message
from smsdesk.worker.loop import Worker
from smsdesk.worker.runtime import build_worker

pytestmark = pytest.mark.django_db
SCTS = datetime(2026, 11, 25, 9, 30, 12, tzinfo=UTC)  # the network's time stamp


def inbound() -> list[tuple[str, str]]:
    return list(
        Message.objects.filter(direction=Message.Direction.INBOUND).values_list("peer", "body")
    )


def test_an_sms_emitted_again_after_a_crash_is_stored_once() -> None:
    for _ in range(2):  # committed, not acknowledged, emitted again at the next start
        receiving.receive_inbound(
            gateway="modem",
            sender="+33611111111",
            text="STOP",
            received_at=SCTS,
            delivery_id="SM3:0791331...",  # the same SIM slot and PDU
        )
    assert inbound() == [("+33611111111", "STOP")]
    assert Conversation.objects.get(peer="+33611111111").unread_count == 1


def test_the_same_text_sent_again_later_or_elsewhere_is_a_new_sms() -> None:
    receiving.receive_inbound(gateway="modem", sender="+33611111111", text="Oui", received_at=SCTS)
    later = SCTS + timedelta(seconds=1)
    receiving.receive_inbound(gateway="modem", sender="+33611111111", text="Oui", received_at=later)
    receiving.receive_inbound(
        gateway="modem-2", sender="+33611111111", text="Oui", received_at=SCTS
    )
    receiving.receive_inbound(gateway="modem", sender="+33622222222", text="Oui", received_at=SCTS)
    assert len(inbound()) == 4


def test_the_housekeeping_stores_a_long_sms_whose_parts_stopped_coming(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_CONCAT_WAIT = 60
    old = timezone.now() - timedelta(minutes=5)
    receiving.receive_inbound(
        gateway="simulator",
        sender="+33611111111",
        text="Première partie, ",
        received_at=old,
        concat=Concat(ref=9, total=2, seq=1),
    )
    InboundPart.objects.update(stored_at=old)
    assert inbound() == []
    worker = Worker([])
    worker._started = True
    worker._last_heartbeat = timezone.now() - timedelta(hours=1)
    worker.housekeeping()
    [(peer, body)] = inbound()
    assert peer == "+33611111111" and body.startswith("Première partie, ")


@pytest.mark.parametrize(
    ("setting", "option", "expected"),
    [(True, "", True), (False, "", False), (False, "&hangup=true", True)],
)
def test_the_hang_up_setting_reaches_the_modem(settings, setting, option, expected) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_CALLS_HANG_UP = setting
    settings.SMSDESK_GATEWAYS = [f"modem:/dev/ttyUSB0?pin=1234{option}"]
    [modem] = build_worker().gateways
    assert modem.hangup is expected  # type: ignore[attr-defined]


def test_a_reply_goes_out_through_the_gateway_the_correspondent_wrote_to(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["simulator", "modem-2=simulator"]
    gateway_state.register_all([("simulator", "simulator"), ("modem-2", "simulator")])
    gateway_state.mark_up("modem-2")
    receiving.receive_inbound(
        gateway="modem-2", sender="+33611111111", text="Bonjour", received_at=SCTS
    )
    assert sending.reply_gateway("+33611111111") == "modem-2"
    assert sending.reply_gateway("+33699999999") is None  # never wrote: the default
    gateway_state.mark_down("modem-2", reason="no answer", since=SCTS, retrying=True)
    assert sending.reply_gateway("+33611111111") is None  # down: the default
    settings.SMSDESK_GATEWAYS = ["simulator"]
    assert sending.reply_gateway("+33611111111") is None  # no longer configured


def test_a_reply_from_the_page_takes_that_gateway(settings, client_bob: Client) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["simulator", "modem-2=simulator"]
    gateway_state.register_all([("simulator", "simulator"), ("modem-2", "simulator")])
    receiving.receive_inbound(
        gateway="modem-2", sender="+33611111111", text="Bonjour", received_at=SCTS
    )
    conversation = Conversation.objects.get(peer="+33611111111")
    url = reverse("messaging:reply", kwargs={"conversation_id": conversation.id})
    client_bob.post(url, {"text": "Merci"})
    out = Message.objects.get(direction=Message.Direction.OUTBOUND)
    assert out.gateway_id == "modem-2"


def test_a_campaign_through_a_gateway_that_is_not_configured_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["simulator"]
    with pytest.raises(UnknownGateway):
        sending.create_campaign(author=None, body="x", to=["+33611111111"], gateway="modem-9")
    assert not Message.objects.exists()
    campaign = sending.create_campaign(
        author=None, body="x", to=["+33611111111"], gateway="simulator"
    )
    assert campaign.messages.get().gateway_id == "simulator"
