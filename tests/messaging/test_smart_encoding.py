"""Smart encoding (issue 21): ’ « » – … typed by a word processor do not double the bill, in
New SMS, the reply box, the API and the command line; the text stored is the text sent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Campaign, Conversation, Message

pytestmark = pytest.mark.django_db

TYPED = "l’AG aura lieu « demain » – salle 2…"
SENT = 'l\'AG aura lieu " demain " - salle 2...'


def test_the_service_stores_what_it_sends() -> None:
    campaign = sending.create_campaign(
        author=None, body=TYPED, to=["0612345678"], smart_encoding=True
    )
    message = Message.objects.get(campaign=campaign)
    assert (campaign.body, message.body) == (SENT, SENT)
    assert (message.encoding, message.segments) == ("gsm7", 1)


def test_without_it_the_text_is_kept_as_typed() -> None:
    campaign = sending.create_campaign(author=None, body=TYPED, to=["0612345678"])
    message = Message.objects.get(campaign=campaign)
    assert message.body == TYPED and message.encoding == "ucs2"


def test_new_sms_replaces_by_default(client_bob: Client) -> None:
    page = client_bob.get("/sms/new/").content.decode()
    assert 'id="id_smart_encoding" name="smart_encoding" value="on"' in page
    assert 'aria-describedby="smart-encoding-help" checked' in page
    client_bob.post("/sms/new/", {"text": TYPED, "numbers": "0612345678", "smart_encoding": "on"})
    assert Message.objects.get().body == SENT


def test_new_sms_keeps_the_original_when_unticked(client_bob: Client) -> None:
    client_bob.post("/sms/new/", {"text": TYPED, "numbers": "0612345678"})
    assert Message.objects.get().body == TYPED


def test_the_counter_names_what_is_replaced_and_offers_the_original(client_bob: Client) -> None:
    html = client_bob.post(
        "/sms/new/count/", {"text": TYPED + "\u00a0!", "smart_encoding": "on"}
    ).content.decode()
    assert "(GSM7), 1 SMS" in html
    assert "<code>’</code> → <code>&#x27;</code>" in html
    assert "<code>«</code> → <code>&quot;</code>" in html
    assert "espace U+00A0" in html
    assert 'for="id_smart_encoding">Garder l’original</label>' in html
    plain = client_bob.post("/sms/new/count/", {"text": TYPED}).content.decode()
    assert "(UCS2), 1 SMS" in plain and "data-replaced" not in plain


def test_the_reply_box_replaces_by_default(client_bob: Client) -> None:
    receiving.receive_inbound(
        gateway="sim", sender="+33612345678", text="Question", received_at=timezone.now()
    )
    conversation = Conversation.objects.get()
    page = client_bob.get(f"/sms/conversations/{conversation.id}/").content.decode()
    assert 'name="smart_encoding" value="on" form="reply-form" checked' in page
    client_bob.post(
        f"/sms/conversations/{conversation.id}/reply/", {"text": "D’accord", "smart_encoding": "on"}
    )
    client_bob.post(f"/sms/conversations/{conversation.id}/reply/", {"text": "Très « bien »"})
    sent = set(Message.objects.filter(direction="out").values_list("body", flat=True))
    assert sent == {"D'accord", "Très « bien »"}


def test_the_api_smart_encoding(operator: User) -> None:
    _token, raw = accounts.create_token(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answer = api.post(
        "/api/v1/messages",
        {"to": ["0612345678"], "text": TYPED, "smart_encoding": True},
        content_type="application/json",
    )
    assert answer.status_code == 201
    (message,) = answer.json()["messages"]
    assert (message["text"], message["encoding"], message["segments"]) == (SENT, "gsm7", 1)
    refused = api.post(
        "/api/v1/messages",
        {"to": ["0612345678"], "text": TYPED, "smart_encoding": "peut-être"},
        content_type="application/json",
    )
    assert refused.status_code == 422 and Campaign.objects.count() == 1


def test_the_command_line_smart_encoding() -> None:
    out = StringIO()
    call_command("send", "--to", "0612345678", "--text", TYPED, "--smart-encoding", stdout=out)
    call_command("send", "--to", "0698765432", "--text", TYPED, stdout=StringIO())
    bodies = dict(Message.objects.values_list("peer", "body"))
    assert bodies == {"+33612345678": SENT, "+33698765432": TYPED}
