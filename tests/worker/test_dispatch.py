from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Message
from tests.worker.helpers import drain, make_due, runner_for

S = Message.Status


def send(*numbers: str, text: str = "Bonjour", send_at=None) -> list[Message]:  # type: ignore[no-untyped-def]
    campaign = sending.create_campaign(author=None, body=text, to=list(numbers), send_at=send_at)
    return campaign.created_messages


@pytest.mark.django_db(transaction=True)
def test_it_delivers_through_the_simulator() -> None:
    gateway = SimulatorGateway(delivery_delay=0)
    [msg] = send("06 12 34 56 78")
    drain(runner_for(gateway))
    msg.refresh_from_db()
    assert msg.status == S.DELIVERED
    assert msg.sent_at is not None and msg.gateway_ref
    assert [m.id for m in gateway.handed] == [msg.id]


@pytest.mark.django_db(transaction=True)
def test_it_fails_a_permanently_refused_number_with_its_reason() -> None:
    gateway = SimulatorGateway(delivery_delay=0, fail_permanent=["+33600000001"])
    [msg] = send("+33600000001")
    drain(runner_for(gateway))
    msg.refresh_from_db()
    assert msg.status == S.FAILED
    assert msg.error == "number unknown to the network"
    assert msg.attempts == 1
    assert gateway.handed == []


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_temporary_failure_with_backoff_then_gives_up(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_MAX_ATTEMPTS = 3
    gateway = SimulatorGateway(delivery_delay=0, fail_temporary=["+33600000002"])
    [msg] = send("+33600000002")
    runner = runner_for(gateway)
    drain(runner)
    msg.refresh_from_db()
    assert msg.status == S.QUEUED and msg.attempts == 1
    assert msg.due_at > timezone.now() + timedelta(seconds=20)  # backed off, not hammered
    for _ in range(2):
        make_due(msg.id)
        drain(runner)
    msg.refresh_from_db()
    assert msg.status == S.FAILED and msg.attempts == 3
    assert msg.error == "network busy, try later"


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_message_waits_for_its_time() -> None:
    gateway = SimulatorGateway(delivery_delay=0)
    [msg] = send("+33612345678", send_at=timezone.now() + timedelta(hours=1))
    runner = runner_for(gateway)
    drain(runner)
    msg.refresh_from_db()
    assert msg.status == S.SCHEDULED
    assert gateway.handed == []
    make_due(msg.id)
    drain(runner)
    msg.refresh_from_db()
    assert msg.status == S.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_report_of_non_delivery_fails_the_message() -> None:
    gateway = SimulatorGateway(delivery_delay=0, undeliverable=["+33612345679"])
    [msg] = send("+33612345679")
    drain(runner_for(gateway))
    msg.refresh_from_db()
    assert msg.status == S.FAILED
    assert msg.error == "handset unreachable"


@pytest.mark.django_db(transaction=True)
def test_it_respects_the_gateway_rate() -> None:
    gateway = SimulatorGateway(delivery_delay=0, rate=5, batch_size=5)
    send(*[f"+336123456{i:02d}" for i in range(12)])
    runner = runner_for(gateway)
    runner.limiter.tokens = 5
    runner.step()
    assert len(gateway.handed) == 5  # one burst, then the bucket is empty


@pytest.mark.django_db(transaction=True)
def test_a_gateway_that_breaks_mid_batch_leaves_its_messages_unknown() -> None:
    class Broken(SimulatorGateway):
        def send_many(self, messages, progress=None):  # type: ignore[no-untyped-def]
            raise OSError("serial port vanished")

    [msg] = send("+33612345678")
    drain(runner_for(Broken(delivery_delay=0)))
    msg.refresh_from_db()
    assert msg.status == S.UNKNOWN
    assert "serial port vanished" in msg.error


@pytest.mark.django_db(transaction=True)
def test_a_stop_blocks_what_was_still_waiting_for_that_number() -> None:
    gateway = SimulatorGateway(delivery_delay=0)
    [scheduled] = send("0698765432", send_at=timezone.now() + timedelta(hours=1))
    [other] = send("0612345678", send_at=timezone.now() + timedelta(hours=1))
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="STOP", received_at=timezone.now()
    )
    scheduled.refresh_from_db()
    assert scheduled.status == S.BLOCKED and "STOP" in scheduled.error
    # Its time comes: nothing goes to the number that said STOP; the other one goes.
    make_due(scheduled.pk, other.pk)
    drain(runner_for(gateway))
    # Only the confirmation of the STOP goes to that number (tests/optout: its own rules).
    notice = Message.objects.get(opt_out_notice=True)
    assert sorted((m.to, m.id == notice.id) for m in gateway.handed) == [
        ("+33612345678", False),
        ("+33698765432", True),
    ]
    assert Message.objects.get(pk=scheduled.pk).status == S.BLOCKED
    assert Message.objects.get(pk=other.pk).status == S.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_the_claim_checks_the_stop_list_once_more() -> None:
    # A message saved at the very moment its number said STOP is still queued: the worker
    # blocks it when it claims the batch instead of handing it to the network.
    from smsdesk.optout.models import OptOut

    gateway = SimulatorGateway(delivery_delay=0)
    [late, fine] = send("0698765432", "0612345678")
    OptOut.objects.create(number="+33698765432", source="sms", keyword="STOP")
    drain(runner_for(gateway))
    assert [m.id for m in gateway.handed] == [fine.id]
    late.refresh_from_db()
    assert late.status == S.BLOCKED and late.claimed_by == ""
