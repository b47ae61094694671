"""A message of N segments is N parts on the network, each with its reference and report."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from smsdesk.gateways.base import DeliveryState, SendResult, StatusReport
from smsdesk.messaging import lifecycle, outbox, sending
from smsdesk.messaging.models import Message, MessagePart, UnmatchedReport

S = Message.Status
LONG = "Réunion du conseil " * 20  # 380 GSM-7 characters: 3 parts


def sent_in_parts(refs: list[str]) -> Message:
    [message] = sending.create_campaign(
        author=None, body=LONG, to=["+33612345678"]
    ).created_messages
    assert message.segments == 3
    [claimed] = lifecycle.claim(gateway="simulator", worker_id="w", limit=10, now=timezone.now())
    lifecycle.record_results(
        [SendResult.ok(claimed.sms.id, refs)], attempts={claimed.sms.id: 1}, now=timezone.now()
    )
    return message


def report(ref: str, state: DeliveryState = DeliveryState.DELIVERED) -> StatusReport:
    return StatusReport("simulator", ref, state, detail="" if state == "delivered" else "busy")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", list(itertools.permutations(["a", "b", "c"])))
def test_delivered_once_every_part_is_in_any_order(order: tuple[str, ...]) -> None:
    message = sent_in_parts(["a", "b", "c"])
    assert list(message.parts.order_by("seq").values_list("reference", flat=True)) == [
        "a",
        "b",
        "c",
    ]
    for i, ref in enumerate(order):
        assert outbox.record_reports([report(ref)]) == []
        message.refresh_from_db()
        assert message.status == (S.DELIVERED if i == 2 else S.SENT)


@pytest.mark.django_db(transaction=True)
def test_one_failed_part_fails_the_message_with_its_reason() -> None:
    message = sent_in_parts(["a", "b", "c"])
    outbox.record_reports([report("a"), report("b", DeliveryState.FAILED)])
    message.refresh_from_db()
    assert (message.status, message.error) == (S.FAILED, "busy")
    outbox.record_reports([report("c")])  # a late report does not bring it back
    message.refresh_from_db()
    assert message.status == S.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_report_that_comes_before_its_part_is_kept_in_the_database_and_matched() -> None:
    early = report("c")
    assert outbox.record_reports([early]) == [early]  # its part is not recorded yet
    assert UnmatchedReport.objects.filter(reference="c").exists()  # stored, not in memory
    message = sent_in_parts(["a", "b", "c"])
    assert outbox.match_unmatched("simulator") == 1
    assert not UnmatchedReport.objects.exists()
    assert MessagePart.objects.get(message=message, seq=3).state == MessagePart.State.DELIVERED
    outbox.record_reports([report("a"), report("b")])
    message.refresh_from_db()
    assert message.status == S.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_reference_used_again_matches_the_newest_waiting_part() -> None:
    # A modem's references (0-255) come round again.
    old = sent_in_parts(["7", "8", "9"])
    outbox.record_reports([report("7"), report("8"), report("9")])
    sending.create_campaign(author=None, body="x", to=["+33698765432"])
    [claimed] = lifecycle.claim(gateway="simulator", worker_id="w", limit=10, now=timezone.now())
    lifecycle.record_results(
        [SendResult.ok(claimed.sms.id, "7")], attempts={claimed.sms.id: 1}, now=timezone.now()
    )
    outbox.record_reports([report("7", DeliveryState.FAILED)])
    assert Message.objects.get(id=claimed.sms.id).status == S.FAILED
    old.refresh_from_db()
    assert old.status == S.DELIVERED


@pytest.mark.django_db
def test_a_reference_come_round_while_the_old_part_still_waits_goes_to_the_newest() -> None:
    # The old part's report never came (a network that drops them): after 256 more parts
    # the modem gives "7" again, and a report of "7" is about the newest part.
    ids = []
    for number in ("+33611111111", "+33622222222"):
        sending.create_campaign(author=None, body="Bonjour", to=[number])
        [claimed] = lifecycle.claim(
            gateway="simulator", worker_id="w", limit=10, now=timezone.now()
        )
        lifecycle.record_results(
            [SendResult.ok(claimed.sms.id, ("7",))],
            attempts={claimed.sms.id: 1},
            now=timezone.now(),
        )
        ids.append(claimed.sms.id)
    outbox.record_reports([report("7")])
    assert Message.objects.get(id=ids[1]).status == S.DELIVERED
    assert Message.objects.get(id=ids[0]).status == S.SENT  # still waits for its own
    # Another gateway's "7" is another part altogether: it touches neither.
    outbox.record_reports([StatusReport("modem-2", "7", DeliveryState.DELIVERED)])
    assert Message.objects.get(id=ids[0]).status == S.SENT
