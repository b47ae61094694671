"""An opt-out that arrives while a 10,000-recipient send is going out blocks what was not yet
handed to the network, and nothing else: the worker runs in-process, one step at a time, and
the STOP reaches it the way a real one does, as an event of the gateway."""

from __future__ import annotations

import pytest

from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from tests.worker.helpers import runner_for

S = Message.Status
RECIPIENTS = [f"+336{n:08d}" for n in range(10_000)]


@pytest.mark.django_db(transaction=True)
def test_a_stop_in_the_middle_of_a_big_send_blocks_what_was_not_handed_over() -> None:
    campaign = sending.create_campaign(author=None, body="Soldes !", to=RECIPIENTS)
    assert campaign.recipient_count == 10_000
    gateway = SimulatorGateway(delivery_delay=0, batch_size=250)
    runner = runner_for(gateway)
    while len(gateway.handed) < 1_000:
        assert runner.step()
    handed_before = {m.to for m in gateway.handed}
    early, middle, last = RECIPIENTS[0], RECIPIENTS[5_000], RECIPIENTS[-1]
    assert early in handed_before and middle not in handed_before
    for number in (early, middle, last):
        gateway.inject_inbound(number, "STOP")
    for _ in range(200):
        if not runner.step():
            break
    by_number = {
        m.peer: m for m in Message.objects.filter(campaign=campaign).only("peer", "status")
    }
    assert by_number[middle].status == S.BLOCKED
    assert by_number[last].status == S.BLOCKED
    assert by_number[early].status == S.DELIVERED  # it had gone before the STOP
    campaign_ids = set(by_number[n].id for n in RECIPIENTS)
    handed = [m for m in gateway.handed if m.id in campaign_ids]
    assert len(handed) == len({m.id for m in handed}) == 10_000 - 2  # none twice
    assert not {middle, last} & {m.to for m in handed}
    assert Message.objects.filter(campaign=campaign, status=S.DELIVERED).count() == 9_998
    # The three opt-outs are each confirmed, though they are on the list.
    notices = Message.objects.filter(opt_out_notice=True)
    assert sorted(n.peer for n in notices) == sorted([early, middle, last])
    assert {m.to for m in gateway.handed if m.id not in campaign_ids} == {early, middle, last}
