"""The STOP list's two kinds of entry (a STOP received by SMS, which a START undoes; a "never
text" entry an administrator adds, which only an administrator removes) and the confirmation
of a STOP, set by administrators on the SMS STOP page."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Message
from smsdesk.optout import services
from smsdesk.optout.models import OptOut

NUMBER = "+33698765432"


def sms(text: str, sender: str = NUMBER) -> Message:
    return receiving.receive_inbound(
        gateway="simulator", sender=sender, text=text, received_at=timezone.now()
    )


def confirmations(number: str = NUMBER) -> list[str]:
    return list(
        Message.objects.filter(peer=number, opt_out_notice=True).values_list("body", flat=True)
    )


@pytest.fixture
def alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_a_start_does_not_take_off_a_never_text_entry(admin_user: User) -> None:
    services.add_number("06 98 76 54 32", by=admin_user, reason="plainte", never=True)
    sms("START")
    assert OptOut.objects.get(number=NUMBER).never  # still there
    campaign = sending.create_campaign(author=admin_user, body="Promo", to=[NUMBER])
    assert campaign.messages.get().status == Message.Status.BLOCKED
    services.remove_number(NUMBER, by=admin_user, reason="erreur de saisie")
    assert not OptOut.objects.filter(number=NUMBER).exists()  # an administrator can


@pytest.mark.django_db
def test_a_start_takes_off_a_stop_received_by_sms_or_added_without_never(admin_user: User) -> None:
    sms("STOP")
    other = "+33612345678"
    services.add_number(other, by=admin_user)  # by hand, not "never"
    sms("START")
    sms("START", sender=other)
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_the_page_the_api_and_the_command_add_never_text_entries(
    admin_user: User, alice: Client
) -> None:
    response = alice.post("/stop/add/", {"number": "0698765432", "reason": "", "never": "on"})
    assert response.status_code == 302
    assert OptOut.objects.get(number=NUMBER).never
    page = alice.get("/stop/").content.decode()
    assert "never text" in page or "ne jamais écrire" in page
    _token, raw = accounts.create_token(user=admin_user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {"number": "0612345678", "never": True}
    answer = api.post("/api/v1/optouts", body, content_type="application/json")
    assert answer.status_code == 201 and answer.json()["never"] is True
    call_command("optout", "add", "0611111111", "--never", stdout=io.StringIO())
    call_command("optout", "add", "0622222222", stdout=io.StringIO())
    assert dict(OptOut.objects.values_list("number", "never")) == {
        NUMBER: True,
        "+33612345678": True,
        "+33611111111": True,
        "+33622222222": False,
    }
    assert api.post(
        "/api/v1/optouts", {"number": "0633333333", "never": "oui"}, content_type="application/json"
    ).status_code in (400, 422)


@pytest.mark.django_db
def test_the_confirmation_set_on_the_page_is_the_one_sent(alice: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_STOP_CONFIRMATION = True
    page = alice.get("/stop/").content.decode()
    assert 'id="confirmation-form"' in page and settings.SMSDESK_STOP_CONFIRMATION_TEXT in page
    response = alice.post(
        "/stop/confirmation/",
        {
            "enabled": "on",
            "text": "C'est noté, plus de SMS. START pour revenir.",
            "delay_hours": "2",
        },
    )
    assert response.status_code == 302
    sms("STOP")
    assert confirmations() == ["C'est noté, plus de SMS. START pour revenir."]
    sms("START")
    sms("STOP")  # within 2 hours: no second one
    assert len(confirmations()) == 1
    Message.objects.filter(opt_out_notice=True).update(
        created_at=timezone.now() - timezone.timedelta(hours=3)
    )
    sms("START")
    sms("STOP")  # past the delay set on the page (the setting says 24 h)
    assert len(confirmations()) == 2
    alice.post("/stop/confirmation/", {"text": "x", "delay_hours": "2"})  # unticked
    sms("STOP", sender="+33611111111")
    assert confirmations("+33611111111") == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"enabled": "on", "text": "", "delay_hours": "24"}, "text"),
        ({"enabled": "on", "text": "x" * 400, "delay_hours": "24"}, "text"),
        ({"enabled": "on", "text": "a\x00b", "delay_hours": "24"}, "text"),
        ({"enabled": "on", "text": "ok", "delay_hours": "-1"}, "delay_hours"),
        ({"enabled": "on", "text": "ok", "delay_hours": "deux"}, "delay_hours"),
        ({"enabled": "on", "text": "ok", "delay_hours": "99999999"}, "delay_hours"),
        ({"enabled": "on", "text": "ok", "delay_hours": "1e3"}, "delay_hours"),
    ],
)
def test_a_wrong_confirmation_is_refused_and_nothing_changes(
    alice: Client, data: dict, field: str
) -> None:
    before = services.confirmation()
    response = alice.post("/stop/confirmation/", data)
    assert response.status_code == 400
    assert b"is-invalid" in response.content or b"invalid-feedback" in response.content
    assert services.confirmation() == before


@pytest.mark.django_db
def test_only_an_administrator_changes_the_confirmation(operator: User) -> None:
    client = Client()
    client.force_login(operator)
    assert client.post("/stop/confirmation/", {"text": "x", "delay_hours": "1"}).status_code == 403
    assert 'id="confirmation-form"' not in client.get("/stop/").content.decode()
    assert services.confirmation().set_by_admin is False
