"""Flash SMS (class 0): asked by the API, the command line or a service call; sent by lines that
can (modem: TP-DCS class 0; SMPP: data_coding class bits and dest_addr_subunit; providers that
offer it), refused before queuing by a line that cannot."""

from __future__ import annotations

import pytest
import smpp34
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.gateways.smpp import pdu as smpp_pdu
from smsdesk.messaging import errors, lifecycle, sending
from smsdesk.messaging.models import Message
from smsdesk.sms import pdu

LINES = [
    "simulator",
    "ovh=http:ovh?service=s&application_key=a&application_secret=b&consumer_key=c",
    "op=smpp://id:pw@127.0.0.1:2775",
]


@pytest.fixture
def lines(settings):  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = LINES


@pytest.mark.django_db
def test_a_line_that_cannot_send_flash_refuses_it_before_anything_is_queued(lines) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.FlashUnsupported) as refused:
        sending.create_campaign(author=None, body="Alerte", to=["+33612345678"], flash=True)
    assert refused.value.field == "flash"
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_flash_sms_through_a_line_that_can_reaches_the_gateway_as_flash(lines) -> None:  # type: ignore[no-untyped-def]
    campaign = sending.create_campaign(
        author=None, body="Alerte", to=["+33612345678"], flash=True, gateway="ovh"
    )
    [msg] = campaign.created_messages
    assert msg.flash
    [claimed] = lifecycle.claim(gateway="ovh", worker_id="w", limit=10, now=timezone.now())
    assert claimed.sms.flash is True
    lifecycle.record_unknown([msg.id], reason="test over", now=timezone.now())


@pytest.mark.django_db
def test_the_api_takes_flash_and_says_plainly_when_the_line_cannot(lines, operator: User) -> None:  # type: ignore[no-untyped-def]
    _token, raw = accounts.create_token(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    refused = api.post(
        "/api/v1/messages",
        {"to": ["+33612345678"], "text": "x", "flash": True},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "flash_unsupported"
    ok = api.post(
        "/api/v1/messages",
        {"to": ["+33612345678"], "text": "x", "flash": True, "gateway": "op"},
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.content
    assert Message.objects.get().flash


@pytest.mark.django_db
def test_the_command_line_takes_flash(lines, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="flash"):
        call_command("send", "--to", "+33612345678", "--text", "x", "--flash")
    settings.SMSDESK_GATEWAYS = [LINES[2], LINES[0]]  # the SMPP line first: the default
    call_command("send", "--to", "+33612345678", "--text", "x", "--flash")
    assert Message.objects.get().flash


def test_a_modem_flash_pdu_carries_message_class_0() -> None:
    [gsm] = pdu.encode_submit("+33612345678", "Alerte", flash=True)
    [plain] = pdu.encode_submit("+33612345678", "Alerte")
    [ucs2] = pdu.encode_submit("+33612345678", "Alerte ✓", flash=True)
    # TP-PID (00) then TP-DCS follow the address: only the DCS differs, 00 -> 10 (class 0)
    assert gsm.hex != plain.hex
    assert gsm.hex.upper().replace("0010", "0000", 1) == plain.hex.upper()
    assert "0018" in ucs2.hex.upper()


def test_an_smpp_flash_submit_sm_has_class_0_and_the_display_subunit() -> None:
    addressing = smpp_pdu.Addressing("SHOP", 5, 0, system_type="", registered=True)
    encoded = smpp_pdu.encode_text("Alerte")
    raw = smpp_pdu.submit_sm(1, addressing, "+33612345678", encoded, 0, flash=True)
    decoded = smpp34.decode(raw)
    assert isinstance(decoded, smpp34.SubmitSm)
    assert decoded.data_coding == 0x10
    assert any(
        t.tag == smpp_pdu.TLV_DEST_ADDR_SUBUNIT and bytes(t.value) == b"\x01" for t in decoded.tlvs
    )


@pytest.mark.django_db
def test_new_sms_offers_flash_and_shows_the_refusal_beside_it(lines, client_bob, settings) -> None:  # type: ignore[no-untyped-def]
    form = {"text": "Alerte", "numbers": "+33612345678", "flash": "on"}
    refused = client_bob.post("/sms/new/", form)
    assert refused.status_code == 400
    flagged = 'form-check-input is-invalid" type="checkbox" id="id_flash"'
    assert flagged in refused.content.decode()  # the error beside the box, in either language
    assert not Message.objects.exists()
    settings.SMSDESK_GATEWAYS = [LINES[1], LINES[0]]  # OVH first: the default line
    client_bob.post("/sms/new/", form)
    assert Message.objects.get().flash
    repeat = client_bob.post("/sms/new/", {**form, "repeat": "on", "every": "day"})
    assert flagged in repeat.content.decode()
    assert Message.objects.count() == 1
