"""Nothing lost across a crash: an event committed with its change is delivered by the next
worker, even when the worker that was delivering it is killed (kill -9) mid-try."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from smsdesk.accounts.models import User
from smsdesk.optout import services as optout
from smsdesk.webhooks import services
from smsdesk.webhooks.models import Attempt, Delivery
from tests.webhooks.receiver import receiver
from tests.worker.helpers import start_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_during_a_delivery_leaves_it_to_the_next_one(
    admin_user: User,
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    with receiver("hang") as hook:
        services.create_endpoint(by=admin_user, url=hook.url, events=["optout.added"])
        # the change is committed here, with its event; no worker runs yet
        optout.add_number("0655555555", by=admin_user, reason="asked")
        d = Delivery.objects.get()
        first = start_worker("simulator", tmp_path / "a.txt", SMSDESK_WEBHOOK_ALLOW_PRIVATE="true")
        try:
            wait_until(lambda: len(hook.requests) == 1, 60, "the first worker's try")
        finally:
            first.send_signal(signal.SIGKILL)  # mid-try: no answer was read, nothing recorded
            first.wait(30)
        assert not Attempt.objects.exists()
        hook.answer = 204
        hook.release.set()
        second = start_worker("simulator", tmp_path / "b.txt", SMSDESK_WEBHOOK_ALLOW_PRIVATE="true")
        try:
            wait_until(
                lambda: Delivery.objects.filter(id=d.id, state=Delivery.State.DELIVERED).exists(),
                90,
                "the delivery by the second worker, once the first one's lease ended",
            )
        finally:
            second.terminate()
            second.wait(30)
    ids = {json.loads(r.body)["id"] for r in hook.requests}
    assert ids == {f"evt_{d.event_id}"}  # the same event: a receiver keeps it once by its id
    assert [a.status_code for a in Attempt.objects.all()] == [204]  # delivered once
