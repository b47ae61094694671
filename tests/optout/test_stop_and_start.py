"""STOP and START by SMS: the list, the confirmation SMS, and what the worker then sends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import lifecycle, receiving, sending, stop
from smsdesk.messaging.models import Message
from smsdesk.optout.models import AppendOnly, OptOut, OptOutEvent
from tests.worker.helpers import drain, make_due, runner_for

S = Message.Status
NUMBER = "+33698765432"
CONFIRMATION = "Vous ne recevrez plus nos SMS. Envoyez START pour vous réabonner."


def inbound(text: str, sender: str = NUMBER) -> Message:
    return receiving.receive_inbound(
        gateway="simulator", sender=sender, text=text, received_at=timezone.now()
    )


def notices() -> list[Message]:
    return list(Message.objects.filter(opt_out_notice=True).order_by("id"))


@pytest.mark.django_db
def test_a_stop_lists_the_number_marks_the_message_and_queues_one_confirmation() -> None:
    message = inbound("Stop !")
    entry = OptOut.objects.get(number=NUMBER)
    assert (entry.source, entry.keyword) == ("sms", "Stop !")
    assert message.keyword == Message.Keyword.STOP
    [notice] = notices()
    assert (notice.peer, notice.body, notice.status) == (NUMBER, CONFIRMATION, S.QUEUED)
    assert notice.direction == Message.Direction.OUTBOUND and notice.campaign is None
    [event] = OptOutEvent.objects.all()
    assert (event.action, event.source, event.text) == ("added", "sms", "Stop !")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    ["STOP\u200b", "\u202eSTOP", "STOP STOP", "STOP 🙏", "stop\n-- Envoyé de mon iPhone"],
    ids=repr,
)
def test_a_stop_that_looks_like_stop_on_a_phone_lists_the_number(text: str) -> None:
    # What the audit sent: each shows "STOP" on a screen, none was honoured.
    message = inbound(text)
    assert message.keyword == Message.Keyword.STOP
    assert OptOut.objects.get(number=NUMBER).keyword == text


@pytest.mark.django_db
def test_a_message_that_only_contains_stop_changes_nothing() -> None:
    message = inbound("Merci, stop pour aujourd'hui")
    assert message.keyword == ""
    assert not OptOut.objects.exists() and not notices()


@pytest.mark.django_db
def test_start_lifts_the_opt_out_and_is_recorded() -> None:
    inbound("STOP")
    message = inbound("Start")
    assert message.keyword == Message.Keyword.START
    assert not OptOut.objects.filter(number=NUMBER).exists()
    actions = list(OptOutEvent.objects.order_by("id").values_list("action", "source", "text"))
    assert actions == [("added", "sms", "STOP"), ("removed", "sms", "Start")]
    # It can be texted again.
    [msg] = sending.create_campaign(author=None, body="Re-bonjour", to=[NUMBER]).created_messages
    assert msg.status == S.QUEUED


@pytest.mark.django_db
def test_start_from_a_number_that_is_not_listed_changes_nothing() -> None:
    assert inbound("START").keyword == Message.Keyword.START
    assert not OptOutEvent.objects.exists()


@pytest.mark.django_db
def test_a_second_stop_gets_no_second_confirmation_within_the_delay(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_STOP_CONFIRMATION_DELAY_HOURS = 24
    inbound("STOP")
    inbound("STOP")  # already on the list: not a first STOP
    assert len(notices()) == 1
    inbound("START")
    inbound("STOP")  # a first STOP again, but within the delay
    assert len(notices()) == 1
    # Once the delay has passed, a new first STOP is confirmed again.
    Message.objects.filter(opt_out_notice=True).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    inbound("START")
    inbound("STOP")
    assert len(notices()) == 2
    # Another number is not held back by the first one's confirmation.
    inbound("STOP", sender="+33611111111")
    assert len(notices()) == 3


@pytest.mark.django_db
def test_the_confirmation_can_be_turned_off_or_reworded(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_STOP_CONFIRMATION = False
    inbound("STOP")
    assert notices() == [] and OptOut.objects.exists()
    settings.SMSDESK_STOP_CONFIRMATION = True
    settings.SMSDESK_STOP_CONFIRMATION_TEXT = "Désinscription prise en compte."
    inbound("STOP", sender="+33611111111")
    assert [n.body for n in notices()] == ["Désinscription prise en compte."]


@pytest.mark.django_db
def test_an_alphanumeric_sender_gets_no_confirmation() -> None:
    inbound("STOP", sender="BANQUE")
    assert notices() == []


@pytest.mark.django_db
def test_keywords_come_from_the_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_STOP_KEYWORDS = ["halte", "fin"]
    settings.SMSDESK_START_KEYWORDS = ["reprise"]
    assert inbound("STOP").keyword == ""
    assert inbound("Fin.").keyword == Message.Keyword.STOP
    assert OptOut.objects.filter(number=NUMBER).exists()
    assert inbound("Reprise !").keyword == Message.Keyword.START
    assert not OptOut.objects.filter(number=NUMBER).exists()


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_goes_out_though_its_number_is_on_the_list_and_nothing_else_does() -> None:
    waiting = sending.create_campaign(
        author=None, body="Promo", to=[NUMBER], send_at=timezone.now() + timedelta(hours=1)
    ).created_messages[0]
    inbound("STOP")
    # Its time comes, and the claim checks the STOP list once more: only the notice passes.
    # (Written as it was when the STOP came: queued, in the worker's queue; blocking it took
    # it out of the queue.)
    Message.objects.filter(pk=waiting.pk).update(status=S.QUEUED)
    lifecycle.enqueue([Message.objects.get(pk=waiting.pk)])
    make_due(waiting.pk)
    gateway = SimulatorGateway(delivery_delay=0)
    drain(runner_for(gateway))
    [notice] = notices()
    assert [m.id for m in gateway.handed] == [notice.id]
    assert Message.objects.get(pk=notice.pk).status == S.DELIVERED
    assert Message.objects.get(pk=waiting.pk).status == S.BLOCKED


@pytest.mark.django_db(transaction=True)
def test_a_second_stop_does_not_block_the_confirmation_still_waiting() -> None:
    inbound("STOP")
    inbound("STOP")
    [notice] = notices()
    assert notice.status == S.QUEUED


@pytest.mark.django_db(transaction=True)
def test_the_message_and_the_opt_out_are_stored_together_or_not_at_all(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def disk_full(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(stop, "apply_stop", disk_full)
    with pytest.raises(OSError):
        inbound("STOP")
    assert not Message.objects.exists()
    assert not OptOut.objects.exists() and not OptOutEvent.objects.exists()


@pytest.mark.django_db
def test_the_history_cannot_be_edited_nor_deleted() -> None:
    inbound("STOP")
    event = OptOutEvent.objects.get()
    event.reason = "changed"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly), transaction.atomic():
        OptOutEvent.objects.filter(pk=event.pk).update(reason="changed")
    with pytest.raises(AppendOnly), transaction.atomic():
        OptOutEvent.objects.all().delete()
    assert OptOutEvent.objects.get().reason == ""
