"""A real network fails: the worker tells "nothing handed over" from "maybe handed over",
backs off, shows the gateway down, and survives its database going away."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client

from smsdesk.gateways.base import GatewayError, GatewayUnavailable, OutboundSMS, SendResult
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import lifecycle, sending
from smsdesk.messaging.models import GatewayState, Message
from smsdesk.worker.gateway_store import DatabaseGatewayStore
from smsdesk.worker.loop import State, Worker
from tests.worker.helpers import drain, runner_for, wait_until

S = Message.Status
pytestmark = pytest.mark.django_db(transaction=True)


def send(count: int, text: str = "Bonjour") -> list[int]:
    to = [f"+3361{i:07d}" for i in range(count)]
    campaign = sending.create_campaign(author=None, body=text, to=to)
    return [m.id for m in campaign.created_messages]


def statuses() -> Counter:
    return Counter(Message.objects.values_list("status", flat=True))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_unreachable_in_send_many_puts_the_batch_back_without_using_a_try() -> None:
    class Unplugged(SimulatorGateway):
        def send_many(self, messages: Sequence[OutboundSMS], progress=None) -> list[SendResult]:  # type: ignore[no-untyped-def]
            raise GatewayUnavailable("could not open port /dev/ttyUSB0")

    ids = send(20)
    clock = FakeClock()
    runner = runner_for(Unplugged(delivery_delay=0, batch_size=5), clock=clock)
    drain(runner)
    assert statuses() == {S.QUEUED: 20}  # never `unknown`: nothing left us
    assert set(Message.objects.values_list("attempts", flat=True)) == {0}
    assert runner.state == State.DOWN
    # Only one batch was tried: nothing more is claimed until the gateway answers again.
    assert Message.objects.filter(error="could not open port /dev/ttyUSB0").count() == 5
    state = GatewayState.objects.get(name="simulator")
    assert state.down_since and "ttyUSB0" in state.down_reason and state.retrying
    assert len(ids) == 20


def test_per_message_outcomes_only_touch_their_own_message() -> None:
    class HalfWay(SimulatorGateway):
        def send_many(self, messages: Sequence[OutboundSMS], progress=None) -> list[SendResult]:  # type: ignore[no-untyped-def]
            first, second, third = messages
            return [
                SendResult.ok(first.id, ["r1"]),
                SendResult.maybe(second.id, "link lost after the bytes left", refs=["r2"]),
                SendResult.not_handed_over(third.id, "no > prompt"),
            ]

    first, second, third = send(3)
    drain(runner_for(HalfWay(delivery_delay=0, batch_size=3), clock=FakeClock()))
    assert Message.objects.get(id=first).status == S.SENT
    maybe = Message.objects.get(id=second)
    assert maybe.status == S.UNKNOWN and "link lost" in maybe.error
    assert list(maybe.parts.values_list("reference", flat=True)) == ["r2"]  # still matchable
    back = Message.objects.get(id=third)
    assert (back.status, back.attempts) == (S.QUEUED, 0)


def test_a_configuration_error_is_shown_and_not_retried() -> None:
    class WrongPin(SimulatorGateway):
        starts = 0

        def start(self, emit) -> None:  # type: ignore[no-untyped-def]
            WrongPin.starts += 1
            raise GatewayError("SIM PIN refused (2 tries left)")

    send(2)
    clock = FakeClock()
    runner = runner_for(WrongPin(delivery_delay=0), clock=clock)
    WrongPin.starts = 0
    drain(runner)
    clock.now += 3600
    drain(runner)
    assert WrongPin.starts == 1  # a SIM locks after three wrong PINs: never on its own
    assert runner.state == State.BROKEN and runner.is_alive() is False  # thread not started
    state = GatewayState.objects.get(name="simulator")
    assert "PIN" in state.down_reason and not state.retrying
    assert statuses() == {S.QUEUED: 2}


def test_results_wait_in_memory_while_the_database_is_away(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ids = send(10)
    gateway = SimulatorGateway(delivery_delay=0, batch_size=10)
    runner = runner_for(gateway, clock=FakeClock())
    real = lifecycle.record_results
    failures = {"left": 2}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "record_results", flaky)
    monkeypatch.setattr(runner.stopping, "wait", lambda delay: False)  # no real back-off
    for _ in range(3):
        runner.run_once()  # never raises: an OperationalError does not end the worker
        if not failures["left"]:
            break
    assert statuses() == {S.SENDING: 10}  # the database said nothing yet...
    drain(runner)
    assert statuses() == {S.DELIVERED: 10}  # ...and was told all once it was back
    assert sorted(m.id for m in gateway.handed) == ids  # each handed over once


def test_it_respects_the_gateway_rate() -> None:
    send(12)
    gateway = SimulatorGateway(delivery_delay=0, rate=5, batch_size=100)
    clock = FakeClock()
    runner = runner_for(gateway, clock=clock)
    runner.step()
    runner.step()
    assert len(gateway.handed) == 5  # one second's worth, then the bucket is empty
    clock.now += 1.0
    runner.step()
    assert len(gateway.handed) == 10
    clock.now += 0.2
    runner.step()
    assert len(gateway.handed) == 11


def run_worker(worker: Worker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def stop_worker(worker: Worker, thread: threading.Thread) -> None:
    worker.stop()
    thread.join(30)
    assert not thread.is_alive()


def test_an_outage_of_the_simulated_network_loses_and_fails_nothing() -> None:
    call_command("simulate", "outage", "--seconds", "5")
    ids = send(500)
    gateway = SimulatorGateway(
        delivery_delay=0, batch_size=50, store=DatabaseGatewayStore("simulator")
    )
    worker = Worker([gateway], idle_sleep=0.05, retry_first=0.2)
    thread = run_worker(worker)
    try:
        wait_until(
            lambda: GatewayState.objects.filter(
                name="simulator", down_reason="simulated network unreachable"
            ).exists(),
            30,
            "the gateway shown down",
        )
        assert gateway.handed == []
        wait_until(lambda: statuses()[S.DELIVERED] == 500, 120, "500 delivered")
    finally:
        stop_worker(worker, thread)
    assert statuses() == {S.DELIVERED: 500}  # 0 unknown, 0 failed
    assert sorted(m.id for m in gateway.handed) == sorted(ids)
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}
    assert GatewayState.objects.get(name="simulator").down_since is None  # back up


def test_a_gateway_that_fails_to_start_is_retried_and_shown_down_meanwhile(
    client_bob: Client,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.SMSDESK_GATEWAYS = ["modem-1=simulator"]

    class Flaky(SimulatorGateway):
        failures = 3

        def start(self, emit) -> None:  # type: ignore[no-untyped-def]
            if Flaky.failures:
                Flaky.failures -= 1
                raise GatewayUnavailable("could not open port /dev/ttyUSB9")
            super().start(emit)

    send(5)
    gate = threading.Event()  # holds the third failure until the page was looked at
    original = Flaky.start

    def start(self, emit):  # type: ignore[no-untyped-def]
        if Flaky.failures == 1:
            gate.wait(30)
        return original(self, emit)

    Flaky.start = start  # type: ignore[method-assign]
    gateway = Flaky("modem-1", delivery_delay=0)
    worker = Worker([gateway], idle_sleep=0.05, retry_first=0.1)
    thread = run_worker(worker)
    try:
        wait_until(lambda: Flaky.failures == 1, 30, "two failed starts")
        wait_until(
            lambda: GatewayState.objects.filter(name="modem-1", down_since__isnull=False).exists(),
            30,
            "the gateway recorded down",
        )
        html = client_bob.get("/sms/sent/").content.decode()
        assert 'id="gateway-down-modem-1"' in html
        assert "« modem-1 »" in html and "could not open port /dev/ttyUSB9" in html
        assert "injoignable depuis" in html  # in the user's language
        assert statuses() == {S.QUEUED: 5}  # waiting, not unknown
        gate.set()
        wait_until(lambda: statuses()[S.DELIVERED] == 5, 60, "delivered once it started")
    finally:
        gate.set()
        stop_worker(worker, thread)
    assert Flaky.failures == 0
    assert 'id="gateway-down-modem-1"' not in client_bob.get("/sms/sent/").content.decode()


def test_sigterm_grace_marks_what_the_gateway_still_has_unknown(settings, caplog) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_STOP_GRACE = 1
    release = threading.Event()

    class Slow(SimulatorGateway):
        def send_many(self, messages: Sequence[OutboundSMS], progress=None) -> list[SendResult]:  # type: ignore[no-untyped-def]
            release.wait(40)  # a hand-over that takes 40 s
            return super().send_many(messages)

    send(3)
    gateway = Slow(delivery_delay=0, batch_size=2)
    worker = Worker([gateway], idle_sleep=0.05)
    thread = run_worker(worker)
    try:
        wait_until(lambda: statuses()[S.SENDING] == 2, 30, "a batch in the gateway's hands")
        with caplog.at_level("WARNING"):
            stop_worker(worker, thread)  # returns after the grace, not after 40 s
        assert statuses() == {S.UNKNOWN: 2, S.QUEUED: 1}
        assert "2 messages still being handed over" in caplog.text
        reason = Message.objects.filter(status=S.UNKNOWN).first().error
        assert "may or may not have been sent" in reason
    finally:
        release.set()
        for runner in worker.runners:
            runner.join(10)


class AcknowledgesThenBreaks(SimulatorGateway):
    """The network acknowledges the first two messages of the call, then the link breaks."""

    failure: Exception = RuntimeError("the link broke")

    def send_many(self, messages, progress=None):  # type: ignore[no-untyped-def]
        progress([SendResult.ok(m.id, [f"r{m.id}"]) for m in messages[:2]])
        raise self.failure


def test_a_call_that_breaks_leaves_unknown_only_what_was_not_acknowledged() -> None:
    first, second, third, fourth = send(4)
    runner = runner_for(AcknowledgesThenBreaks(delivery_delay=0, batch_size=4), clock=FakeClock())
    runner.step()
    assert Message.objects.get(id=first).status == Message.objects.get(id=second).status == S.SENT
    assert Message.objects.get(id=third).status == Message.objects.get(id=fourth).status
    assert Message.objects.get(id=third).status == S.UNKNOWN


def test_unreachable_after_some_were_acknowledged_puts_back_only_the_rest() -> None:
    class Unplugged(AcknowledgesThenBreaks):
        failure = GatewayUnavailable("unplugged")

    *_sent, fourth = send(4)
    runner = runner_for(Unplugged(delivery_delay=0, batch_size=4), clock=FakeClock())
    runner.step()
    assert statuses() == {S.SENT: 2, S.QUEUED: 2}
    back = Message.objects.get(id=fourth)
    assert back.attempts == 0 and back.error == "unplugged"  # no try used: nothing left
