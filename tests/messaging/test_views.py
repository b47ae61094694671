from __future__ import annotations

from datetime import timedelta

from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Conversation, Message
from smsdesk.optout.models import OptOut


def test_new_sms_queues_and_redirects_to_sent(client_bob: Client) -> None:
    response = client_bob.post(
        "/sms/new/", {"text": "Bonjour", "numbers": "06 12 34 56 78\n0698765432"}
    )
    assert response.status_code == 302 and response["Location"] == "/sms/sent/"
    assert Message.objects.filter(status="queued").count() == 2


def test_new_sms_warns_that_a_stop_number_is_not_texted(client_bob: Client) -> None:
    from smsdesk.optout import services as optout

    optout.opt_out("+33698765432", source="sms", keyword="STOP")
    response = client_bob.post(
        "/sms/new/", {"text": "Bonjour", "numbers": "06 12 34 56 78\n0698765432"}, follow=True
    )
    html = response.content.decode()
    assert "1 numéro a envoyé STOP : il ne reçoit pas ce SMS (voir SMS STOP)." in html
    assert Message.objects.get(peer="+33698765432").status == "blocked"
    # Without STOP numbers there is no such warning.
    html = client_bob.post(
        "/sms/new/", {"text": "Re", "numbers": "0612345678"}, follow=True
    ).content.decode()
    assert "(voir SMS STOP)" not in html


def test_new_sms_shows_what_to_fix_and_stores_nothing(client_bob: Client) -> None:
    response = client_bob.post("/sms/new/", {"text": "Bonjour", "numbers": "06 12\n0698765432"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "« 06 12 »" in html and "n’est pas un numéro valide" in html  # which number, French
    assert "Bonjour" in html and "0698765432" in html  # what was typed is kept
    assert not Message.objects.exists()


def test_new_sms_refuses_a_past_date(client_bob: Client) -> None:
    response = client_bob.post(
        "/sms/new/", {"text": "x", "numbers": "0612345678", "send_at": "2001-01-01T10:00"}
    )
    assert response.status_code == 400
    assert "passé" in response.content.decode()
    assert not Message.objects.exists()


def test_sent_list_searches_text_and_number(client_bob: Client) -> None:
    sending.create_campaign(author=None, body="réunion lundi", to=["0612345678"])
    sending.create_campaign(author=None, body="autre chose", to=["0698765432"])
    html = client_bob.get("/sms/sent/?q=lundi").content.decode()
    assert "réunion lundi" in html and "autre chose" not in html
    html = client_bob.get("/sms/sent/?q=06 98 76").content.decode()
    assert "autre chose" in html and "réunion lundi" not in html


def test_received_body_is_escaped(client_bob: Client) -> None:
    msg = receiving.receive_inbound(
        gateway="simulator",
        sender="+33698765432",
        text="<script>alert(1)</script>",
        received_at=_now(),
    )
    html = client_bob.get("/sms/received/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert msg.status == "unread"


def test_opening_a_conversation_marks_it_read(client_bob: Client) -> None:
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Allô ?", received_at=_now()
    )
    assert "Allô ?" in client_bob.get("/sms/unread/").content.decode()
    response = client_bob.get(f"/sms/conversations/{Conversation.objects.get().id}/")
    assert "Allô ?" in response.content.decode()
    assert Message.objects.get().status == "read"
    assert Conversation.objects.get().unread_count == 0
    assert "Allô ?" not in client_bob.get("/sms/unread/").content.decode()


def test_reply_in_place(client_bob: Client) -> None:
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Allô ?", received_at=_now()
    )
    conversation = Conversation.objects.get()
    response = client_bob.post(f"/sms/conversations/{conversation.id}/reply/", {"text": "Oui ?"})
    assert response.status_code == 302
    assert Message.objects.get(direction="out").peer == "+33698765432"


def test_a_reply_goes_out_as_typed_braces_included(client_bob: Client) -> None:
    # A reply is to one person: "{prénom}" or a lone "}" is text, not a field or a mistake.
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Code ?", received_at=_now()
    )
    conversation = Conversation.objects.get()
    for text in ("Votre code : {prénom} :}", "{{x}}"):
        client_bob.post(f"/sms/conversations/{conversation.id}/reply/", {"text": text})
    sent = Message.objects.filter(direction="out").order_by("id").values_list("body", flat=True)
    sent = list(sent)
    assert sent == ["Votre code : {prénom} :}", "{{x}}"]


def test_the_counter_uses_the_same_rule_as_the_service(client_bob: Client) -> None:
    html = client_bob.post("/sms/new/count/", {"text": "a" * 161}).content.decode()
    assert "161" in html and "2 SMS" in html


def _now():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.now()


def test_cancel_a_scheduled_message(client_bob: Client, operator) -> None:  # type: ignore[no-untyped-def]
    [m] = sending.create_campaign(
        author=operator, body="x", to=["0612345678"], send_at=_now() + timedelta(hours=2)
    ).created_messages
    response = client_bob.post(f"/sms/messages/{m.id}/cancel/", {"next": "/sms/sent/"})
    assert response.status_code == 302
    m.refresh_from_db()
    assert m.status == "cancelled"


def _sent_message(status: str, **fields: str) -> Message:
    """A message of bob's to 06 12 34 56 78, moved by hand to `status`."""
    bob = User.objects.get(username="bob")
    [m] = sending.create_campaign(author=bob, body="x", to=["0612345678"]).created_messages
    Message.objects.filter(id=m.id).update(status=status, **fields)
    return m


def test_a_message_on_its_way_cannot_be_cancelled(client_bob: Client) -> None:
    m = _sent_message("sending")
    client_bob.post(f"/sms/messages/{m.id}/cancel/")
    m.refresh_from_db()
    assert m.status == "sending"


def test_retry_an_unknown_message_only_on_request(client_bob: Client) -> None:
    m = _sent_message("unknown", error="worker died")
    html = client_bob.get("/sms/sent/").content.decode()
    assert "Renvoyer" in html
    confirm = client_bob.get(f"/sms/messages/{m.id}/retry/").content.decode()
    assert "a peut-être déjà" in confirm  # asks before resending
    client_bob.post(f"/sms/messages/{m.id}/retry/")
    m.refresh_from_db()
    assert (m.status, m.error) == ("queued", "")


def test_retry_respects_stop(client_bob: Client) -> None:
    m = _sent_message("failed")
    OptOut.objects.create(number="+33612345678", source="sms")
    response = client_bob.post(f"/sms/messages/{m.id}/retry/", follow=True)
    m.refresh_from_db()
    assert m.status == "blocked"
    # The user is told why, not that it was queued again.
    html = response.content.decode()
    assert "Ce numéro a envoyé STOP" in html and "de nouveau en file" not in html


def test_a_delivered_message_cannot_be_retried(client_bob: Client) -> None:
    m = _sent_message("delivered")
    client_bob.post(f"/sms/messages/{m.id}/retry/")
    m.refresh_from_db()
    assert m.status == "delivered"
