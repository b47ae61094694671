"""Issue 22: a STOP is honoured up to the hand-over. Real worker processes, a simulated
network taking 1 s per hand-over of 500: STOPs arrive (texted through the simulator, and
added through the service the API and the page call) while one batch is in the network's
hands, for numbers whose message is still waiting, i.e. just before their batch is claimed.
None of those numbers may be handed its message: each is `blocked`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from smsdesk.gateways import simulator
from smsdesk.gateways.simulator import read_log
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from smsdesk.optout import services as optout
from smsdesk.optout.models import Source
from smsdesk.worker.gateway_store import DatabaseGatewayStore
from tests.worker.helpers import start_worker, wait_until

S = Message.Status
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
RECIPIENTS = [f"+3361{n:07d}" for n in range(3000)]
BATCH = 500


def waiting(campaign_id: int) -> list[tuple[int, str]]:
    """The campaign's messages not claimed yet, in the order the worker claims them."""
    return list(
        Message.objects.filter(campaign_id=campaign_id, status=S.QUEUED)
        .order_by("id")
        .values_list("id", "peer")
    )


def test_no_number_is_handed_over_in_a_batch_claimed_after_its_stop(tmp_path: Path) -> None:
    campaign = sending.create_campaign(author=None, body="Soldes !", to=RECIPIENTS)
    log = tmp_path / "handed.jsonl"
    worker = start_worker(
        f"simulator?delivery_delay=0&latency=1&batch_size={BATCH}&log={log}", tmp_path / "out"
    )
    store = DatabaseGatewayStore("simulator")
    stopped: dict[str, str] = {}  # number -> how it said STOP
    try:
        for batch in (1, 2, 3):
            # A batch is in the network's hands; the next one is not claimed yet.
            wait_until(
                lambda b=batch: (
                    len(waiting(campaign.id)) <= len(RECIPIENTS) - BATCH * b
                    and Message.objects.filter(status=S.SENDING).exists()
                ),
                60,
                f"batch {batch} in the network's hands",
            )
            queue = waiting(campaign.id)
            by_sms = [queue[5][1], queue[200][1], queue[-1][1]]
            by_hand = [queue[6][1], queue[201][1]]
            for number in by_sms:
                store.put([simulator.injected_sms(number, "STOP")])
                stopped[number] = "sms"
            # Reached the platform while their messages were still waiting: claimed after.
            assert set(by_sms + by_hand) <= {peer for _id, peer in waiting(campaign.id)}
            for number in by_hand:
                optout.add_number(number, by=None, source=Source.API)
                stopped[number] = "api"
        wait_until(
            lambda: not Message.objects.filter(status__in=(S.QUEUED, S.SENDING)).exists(),
            120,
            "the campaign and the confirmations handed over",
        )
    finally:
        worker.terminate()
        worker.wait(30)
    handed = read_log(log)
    campaign_ids = set(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    handed_numbers = {e["to"] for e in handed if e["id"] in campaign_ids}
    assert not handed_numbers & set(stopped), {n: stopped[n] for n in handed_numbers & set(stopped)}
    statuses = dict(
        Message.objects.filter(campaign=campaign, peer__in=list(stopped)).values_list(
            "peer", "status"
        )
    )
    assert set(statuses.values()) == {S.BLOCKED} and len(statuses) == len(stopped) == 15
    assert len(handed_numbers) == len(RECIPIENTS) - 15  # everyone else, once
    # Those who texted STOP got their confirmation, the others no SMS at all.
    notices = {e["to"] for e in handed if e["id"] not in campaign_ids}
    assert notices == {n for n, how in stopped.items() if how == "sms"}
    connection.close()
