"""The New SMS rule, as the web, the API and the CLI all reach it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from smsdesk.messaging import errors, sending
from smsdesk.messaging.models import Campaign, Conversation, Message
from smsdesk.optout.models import OptOut

S = Message.Status


def nothing_stored() -> bool:
    return not Campaign.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_it_queues_one_message_per_distinct_number() -> None:
    c = sending.create_campaign(
        author=None, body="Bonjour", to=["06 12 34 56 78", "+33612345678", "0033 6 98 76 54 32"]
    )
    assert sorted(m.peer for m in c.created_messages) == ["+33612345678", "+33698765432"]
    assert {m.status for m in Message.objects.all()} == {S.QUEUED}
    assert c.recipient_count == 2
    assert Conversation.objects.count() == 2


@pytest.mark.django_db
def test_a_number_that_said_stop_is_blocked_never_queued() -> None:
    OptOut.objects.create(number="+33698765432", source="sms")
    c = sending.create_campaign(author=None, body="Promo", to=["0612345678", "0698765432"])
    status = {m.peer: m.status for m in c.created_messages}
    assert status == {"+33612345678": S.QUEUED, "+33698765432": S.BLOCKED}


@pytest.mark.django_db
def test_a_future_send_at_is_scheduled() -> None:
    at = timezone.now() + timedelta(days=1)
    [m] = sending.create_campaign(
        author=None, body="Demain", to=["0612345678"], send_at=at
    ).created_messages
    assert m.status == S.SCHEDULED and m.due_at == at


@pytest.mark.django_db
def test_an_invalid_number_is_refused_and_nothing_is_stored() -> None:
    with pytest.raises(errors.InvalidNumbers) as e:
        sending.create_campaign(author=None, body="Hi", to=["0612345678", "12", "abc"])
    assert e.value.field == "to"
    assert [raw for raw, _why in e.value.invalid] == ["12", "abc"]
    assert "12" in e.value.message and "abc" in e.value.message
    assert nothing_stored()


@pytest.mark.django_db
def test_many_invalid_numbers_are_counted_and_ten_are_named() -> None:
    bad = [f"12{i:02d}" for i in range(25)]
    with pytest.raises(errors.InvalidNumbers) as e:
        sending.create_campaign(author=None, body="Hi", to=["0612345678", *bad])
    assert e.value.message.startswith("25 numéros ne sont pas valides, parmi lesquels : « 1200 »")
    assert "« 1209 »" in e.value.message and "« 1210 »" not in e.value.message
    assert len(e.value.invalid) == 25  # all of them, for the API's detail
    assert nothing_stored()


@pytest.mark.django_db
def test_an_oversized_list_is_refused_before_it_is_parsed(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_MAX_RECIPIENTS = 3
    with pytest.raises(errors.TooManyRecipients) as e:
        sending.create_campaign(author=None, body="Hi", to=["0612345678", "x", "y", "z"])
    assert "4" in e.value.message and "3" in e.value.message
    sending.create_campaign(author=None, body="Hi", to=["0612345678", " ", "0612345679"])
    assert Message.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["", "   \n "])
def test_an_empty_text_is_refused(text: str) -> None:
    with pytest.raises(errors.EmptyText):
        sending.create_campaign(author=None, body=text, to=["0612345678"])
    assert nothing_stored()


@pytest.mark.django_db
def test_a_text_over_ten_sms_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.SMSDESK_MAX_SEGMENTS == 10
    sending.create_campaign(author=None, body="a" * 1530, to=["0612345678"])  # 10 parts: ok
    Message.objects.all().delete()
    Campaign.objects.all().delete()
    with pytest.raises(errors.TextTooLong) as e:
        sending.create_campaign(author=None, body="a" * 1531, to=["0612345678"])
    assert "11" in e.value.message and e.value.field == "text"
    with pytest.raises(errors.TextTooLong):
        sending.create_campaign(author=None, body="ê" * 671, to=["0612345678"])  # UCS-2
    assert nothing_stored()


@pytest.mark.django_db
def test_a_date_in_the_past_is_refused() -> None:
    with pytest.raises(errors.SendAtInPast) as e:
        sending.create_campaign(
            author=None, body="Hier", to=["0612345678"], send_at=timezone.now() - timedelta(hours=1)
        )
    assert e.value.field == "send_at"
    assert nothing_stored()


@pytest.mark.django_db
def test_no_number_at_all_is_refused() -> None:
    with pytest.raises(errors.NoRecipients):
        sending.create_campaign(author=None, body="Hi", to=["", "  "])
    assert nothing_stored()


@pytest.mark.django_db
def test_it_records_encoding_and_segments() -> None:
    [m] = sending.create_campaign(author=None, body="Été ☀", to=["0612345678"]).created_messages
    assert (m.encoding, m.segments) == ("ucs2", 1)
