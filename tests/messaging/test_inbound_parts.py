"""Long SMS received in parts: reassembled in the database, out of order, across restarts,
each part stored once; stored with a visible mark when parts stop coming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from smsdesk.gateways.base import Concat
from smsdesk.messaging import receiving
from smsdesk.messaging.models import InboundPart, Message
from smsdesk.optout.models import OptOut

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def part(seq: int, text: str, *, total: int = 3, ref: int = 42, sender: str = "+33611111111"):  # type: ignore[no-untyped-def]
    return receiving.receive_inbound(
        gateway="modem",
        sender=sender,
        text=text,
        received_at=AT + timedelta(seconds=seq),
        concat=Concat(ref=ref, total=total, seq=seq),
    )


def test_parts_out_of_order_become_one_message_when_the_last_arrives():
    assert part(3, "fin.") is None
    assert part(1, "Début, ") is None
    assert Message.objects.count() == 0
    message = part(2, "milieu, ")
    assert message is not None and message.body == "Début, milieu, fin."
    assert message.created_at == AT + timedelta(seconds=1)  # when the first part was sent
    assert list(Message.objects.values_list("body", flat=True)) == ["Début, milieu, fin."]


def test_a_part_delivered_twice_is_stored_once():
    part(1, "Début, ")
    part(1, "Début, ")  # the modem restarted before deleting it
    part(2, "milieu, ")
    part(3, "fin.")
    part(3, "fin.")  # and again after the message was stored (restart before the SIM delete)
    receiving.flush_incomplete_parts(now=timezone.now() + timedelta(days=2))
    assert list(Message.objects.values_list("body", flat=True)) == ["Début, milieu, fin."]
    assert InboundPart.objects.count() == 0  # forgotten after the wait


def test_same_reference_from_two_senders_does_not_mix():
    part(1, "A1 ", total=2, sender="+33611111111")
    part(1, "B1 ", total=2, sender="+33622222222")
    part(2, "A2", total=2, sender="+33611111111")
    part(2, "B2", total=2, sender="+33622222222")
    assert sorted(Message.objects.values_list("peer", "body")) == [
        ("+33611111111", "A1 A2"),
        ("+33622222222", "B1 B2"),
    ]


def test_an_incomplete_message_is_stored_with_a_mark_after_the_wait(settings):
    settings.SMSDESK_CONCAT_WAIT = 600
    part(1, "Début, ")
    part(3, "fin.")
    assert receiving.flush_incomplete_parts(now=timezone.now()) == 0
    assert receiving.flush_incomplete_parts(now=timezone.now() + timedelta(seconds=601)) == 1
    assert list(Message.objects.values_list("body", flat=True)) == ["Début, [… 2/3 …]fin."]
    part(2, "milieu, ")  # too late: stored on its own rather than lost
    receiving.flush_incomplete_parts(now=timezone.now() + timedelta(seconds=601))
    assert Message.objects.count() == 2


def test_a_stop_split_over_parts_is_a_stop():
    part(1, "ST", total=2)
    part(2, "OP", total=2)
    assert OptOut.objects.filter(number="+33611111111").exists()
