"""The worker through an HTTP provider's line: what each misbehaviour of the provider leaves in
the database (the lifecycle's states), against a local server playing OVH or SMSGate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsdesk.gateways import registry
from smsdesk.messaging import gateway_state, sending
from smsdesk.messaging.models import GatewayState, Message
from tests.gateways.http_providers import Provider, serving
from tests.worker.helpers import drain, runner_for

S = Message.Status


@pytest.fixture
def ovh(settings) -> Iterator[Provider]:  # type: ignore[no-untyped-def]
    with serving("ovh", hang_for=3) as p:
        settings.SMSDESK_GATEWAYS = [
            f"sms=http:ovh?endpoint={p.base}&service=s&application_key=a&"
            f"application_secret={p.secret}&consumer_key=c&timeout=1&concurrency=1"
        ]
        gateway_state.register_all([("sms", "http")])
        yield p


def posts(p: Provider) -> list:  # type: ignore[type-arg]
    return [s for s in p.seen if s.method == "POST"]


def send_and_run(settings, count: int = 1) -> list[Message]:  # type: ignore[no-untyped-def]
    numbers = [f"+336123456{i:02d}" for i in range(count)]
    campaign = sending.create_campaign(author=None, body="Bonjour", to=numbers)
    gateway = registry.build(registry.parse_spec(settings.SMSDESK_GATEWAYS[0]))
    runner = runner_for(gateway)
    drain(runner, rounds=5)
    runner.step()  # the line's state, as the next round publishes it
    messages = list(campaign.created_messages)
    for m in messages:
        m.refresh_from_db()
    return messages


@pytest.mark.django_db(transaction=True)
def test_accepted_messages_are_sent_with_the_provider_s_id(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    messages = send_and_run(settings, 3)
    assert [m.status for m in messages] == [S.SENT] * 3
    assert sorted(m.gateway_ref for m in messages) == ["1000", "1001", "1002"]


@pytest.mark.django_db(transaction=True)
def test_a_hanging_provider_leaves_unknown_only_the_message_it_held(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    ovh.script = ["hang"]
    messages = send_and_run(settings, 3)
    assert sorted(m.status for m in messages) == [S.SENT, S.SENT, S.UNKNOWN]
    assert len(posts(ovh)) == 3  # none sent twice


@pytest.mark.django_db(transaction=True)
def test_a_503_puts_everything_back_in_the_queue_and_the_line_down(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    ovh.script = [(503, {"Retry-After": "300"}, b"")]
    messages = send_and_run(settings, 2)
    assert [m.status for m in messages] == [S.QUEUED] * 2
    assert [m.attempts for m in messages] == [0, 0]  # no try used
    state = GatewayState.objects.get(name="sms")
    assert state.down_since is not None and "503" in state.down_reason
    assert len(posts(ovh)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_500_is_retried_later_with_a_try_used(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    ovh.script = [(500, {}, b"internal error")]
    [msg] = send_and_run(settings)
    assert msg.status == S.QUEUED and msg.attempts == 1
    assert "HTTP 500" in msg.error


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_answer_leaves_the_message_unknown(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    ovh.script = ["garbage"]
    [msg] = send_and_run(settings)
    assert msg.status == S.UNKNOWN


@pytest.mark.django_db(transaction=True)
def test_a_429_slows_down_and_fails_nothing(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    ovh.script = [(429, {"Retry-After": "1"}, b"")]
    messages = send_and_run(settings, 2)
    assert [m.status for m in messages] == [S.SENT] * 2
    assert len(posts(ovh)) == 3


@pytest.mark.django_db(transaction=True)
def test_an_invalid_receiver_fails_with_ovh_s_words(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    ovh.script = [
        (200, {}, b'{"ids": [], "invalidReceivers": ["+33612345600"], "validReceivers": []}')
    ]
    [msg] = send_and_run(settings)
    assert msg.status == S.FAILED and "invalid receiver" in msg.error


@pytest.fixture
def ovh_short_number(settings) -> Iterator[Provider]:  # type: ignore[no-untyped-def]
    """OVH without a sender: its short number takes replies, kept at OVH until deleted."""
    with serving("ovh") as p:
        settings.SMSDESK_GATEWAYS = [
            f"sms=http:ovh?endpoint={p.base}&service=s&application_key=a&"
            f"application_secret={p.secret}&consumer_key=c&timeout=1"
        ]
        gateway_state.register_all([("sms", "http")])
        yield p


@pytest.mark.django_db(transaction=True)
def test_ovh_received_sms_reach_the_discussion_and_are_deleted_only_once_stored(
    ovh_short_number, settings
) -> None:  # type: ignore[no-untyped-def]
    ovh_short_number.inbox[41] = {
        "id": 41,
        "sender": "+33611111111",
        "message": "STOP",
        "creationDatetime": "2026-12-07T10:00:00+01:00",
        "tag": "",
        "credits": 0,
    }
    ovh_short_number.inbox[42] = {
        "id": 42,
        "sender": "0033622222222",
        "message": "Merci",
        "creationDatetime": "2026-12-07T10:01:00+01:00",
    }
    ovh_short_number.refuse_delete = True  # the first deletion fails: read again, stored once
    gateway = registry.build(registry.parse_spec(settings.SMSDESK_GATEWAYS[0]))
    gateway.poll_every = 0
    runner = runner_for(gateway)
    drain(runner, rounds=3)
    received = Message.objects.filter(direction=Message.Direction.INBOUND)
    assert sorted(received.values_list("peer", "body")) == [
        ("+33611111111", "STOP"),
        ("+33622222222", "Merci"),
    ]
    assert sorted(ovh_short_number.inbox) == [41, 42]  # still there: deletion refused
    ovh_short_number.refuse_delete = False
    drain(runner, rounds=3)
    assert ovh_short_number.inbox == {}
    assert received.count() == 2  # read again before the deletion worked: stored once
    from smsdesk.optout.models import OptOut

    assert OptOut.objects.filter(number="+33611111111").exists()


@pytest.mark.django_db(transaction=True)
def test_the_gateways_page_shows_the_line_connected_with_its_provider(ovh, settings) -> None:  # type: ignore[no-untyped-def]
    send_and_run(settings)
    state = GatewayState.objects.get(name="sms")
    assert state.connected and state.operator == "ovh 127.0.0.1"
