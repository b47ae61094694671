"""Commercial SMS: the opt-out mention, and the allowed hours computed when it is saved."""

from __future__ import annotations

from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from smsdesk.sms import gsm7

PARIS = ZoneInfo("Europe/Paris")
S = Message.Status
MENTION = "STOP SMS : répondez STOP"


def save_at(now: datetime, **kwargs):  # type: ignore[no-untyped-def]
    with mock.patch("django.utils.timezone.now", return_value=now):
        return sending.create_campaign(author=None, to=["0612345678"], **kwargs)


@pytest.mark.django_db
def test_saved_on_a_sunday_at_3_pm_it_waits_for_monday_8_am() -> None:
    campaign = save_at(datetime(2026, 11, 29, 15, 0, tzinfo=PARIS), body="Promo", commercial=True)
    assert campaign.send_at == datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
    [msg] = campaign.created_messages
    assert msg.status == S.SCHEDULED and msg.due_at == campaign.send_at
    assert campaign.commercial


@pytest.mark.django_db
def test_saved_on_14_july_it_waits_for_the_next_day_8_am() -> None:
    campaign = save_at(datetime(2026, 7, 14, 11, 0, tzinfo=PARIS), body="Promo", commercial=True)
    assert campaign.send_at == datetime(2026, 7, 15, 8, 0, tzinfo=PARIS)


@pytest.mark.django_db
def test_a_commercial_sms_asked_for_a_closed_time_waits_too() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)  # a Wednesday, open
    campaign = save_at(
        now, body="Promo", commercial=True, send_at=datetime(2026, 11, 25, 21, 30, tzinfo=PARIS)
    )
    assert campaign.send_at == datetime(2026, 11, 26, 8, 0, tzinfo=PARIS)


@pytest.mark.django_db
def test_inside_the_window_it_goes_now_and_a_plain_sms_never_waits() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    [msg] = save_at(now, body="Promo", commercial=True).created_messages
    assert msg.status == S.QUEUED
    sunday = datetime(2026, 11, 29, 15, 0, tzinfo=PARIS)
    plain = save_at(sunday, body="Votre colis est arrivé")
    assert plain.send_at == sunday and plain.created_messages[0].status == S.QUEUED
    assert plain.body == "Votre colis est arrivé"  # no mention on a plain SMS


@pytest.mark.django_db
def test_the_mention_is_added_once_and_counted_in_the_segments(settings) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    body = "x" * 150  # one SMS alone, two with the mention
    campaign = save_at(now, body=body, commercial=True)
    [msg] = campaign.created_messages
    assert msg.body == f"{body}\n{MENTION}"
    assert msg.segments == gsm7.analyse(msg.body).segments == 2
    already = save_at(now, body=f"Promo -20 % ! {MENTION.lower()}", commercial=True)
    assert already.body == f"Promo -20 % ! {MENTION.lower()}"
    settings.SMSDESK_COMMERCIAL_MENTION = "STOP au 36180"
    assert save_at(now, body="Promo", commercial=True).body == "Promo\nSTOP au 36180"


@pytest.mark.django_db
def test_the_mention_can_make_a_text_too_long(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_MAX_SEGMENTS = 1
    now = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    with pytest.raises(sending.errors.TextTooLong):
        save_at(now, body="x" * 150, commercial=True)
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_new_sms_page_counts_the_mention_and_says_when_it_will_go(client_bob: Client) -> None:
    sunday = datetime(2026, 11, 29, 15, 0, tzinfo=PARIS)
    with mock.patch("django.utils.timezone.now", return_value=sunday):
        # logged in on that Sunday: a session lasts 12 hours (SMSDESK_SESSION_HOURS)
        client_bob.force_login(User.objects.get(username="bob"))
        counted = client_bob.post(
            "/sms/new/count/", {"text": "x" * 150, "commercial": "on", "send_at": ""}
        ).content.decode()
        # every request on that Sunday: on a real later date the session has expired
        plain = client_bob.post("/sms/new/count/", {"text": "x" * 150}).content.decode()
        response = client_bob.post(
            "/sms/new/", {"text": "Promo", "numbers": "0612345678", "commercial": "on"}
        )
    assert "2 SMS" in counted and "mention de désinscription comprise" in counted
    assert "30 novembre 2026 08:00" in counted
    assert "1 SMS" in plain and "désinscription" not in plain
    assert response.status_code == 302
    assert Message.objects.get().due_at == datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)


@pytest.mark.django_db
def test_the_api_and_the_command_mark_a_commercial_sms(operator) -> None:  # type: ignore[no-untyped-def]
    import io

    from django.core.management import call_command

    from smsdesk.accounts import services as accounts

    _token, raw = accounts.create_token(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.post(
        "/api/v1/messages",
        {"to": ["0612345678"], "text": "Promo", "commercial": True},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["messages"][0]["text"] == f"Promo\n{MENTION}"
    call_command(
        "send", "--to", "0612345678", "--text", "Promo", "--commercial", stdout=io.StringIO()
    )
    assert Message.objects.filter(campaign__commercial=True).count() == 2
