"""A line shared by two organisations in a real worker process against the tests' real SMSC
process: the worker SIGKILLed in the middle of both organisations' sends, then started again.
Counted from the SMSC's own log: nothing handed over twice, each organisation's SMS with its
own sender before and after the kill, nothing lost (what is not at the SMSC is `unknown`,
at most what the windows held)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from tests.gateways.smsc import Smsc
from tests.gateways.test_smpp_processes import sigkill_during_send
from tests.tenants.test_shared_lines import two_orgs

S = Message.Status
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
EACH = 600


def test_a_worker_sigkilled_on_a_shared_line_sends_each_once_with_its_sender(
    tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    smsc = Smsc(tmp_path / "received.jsonl")
    window, binds = 10, 2
    spec = (
        f"op={smsc.url(f'window={window}&binds={binds}&tps=300')}"
        "&org=a,b&sender.a=CABINET&sender.b=%2B33700000002"
    )
    settings.SMSDESK_GATEWAYS = [spec]
    a, b = two_orgs()
    to_a = [f"+3361{i:07d}" for i in range(EACH)]
    to_b = [f"+3362{i:07d}" for i in range(EACH)]
    sending.create_campaign(author=None, org=a, body="Cabinet", to=to_a)
    sending.create_campaign(author=None, org=b, body="Garage", to=to_b)
    ids = set(Message.objects.values_list("id", flat=True))
    assert len(ids) == 2 * EACH
    try:
        stranded = sigkill_during_send(spec, tmp_path, most_unknown=window * binds)
    finally:
        smsc.close()
    received = smsc.received()
    handed = Counter(r["to"] for r in received)
    assert max(handed.values()) == 1  # nothing handed over twice
    senders = {r["to"]: r["from"] for r in received}
    assert {senders[n[1:]] for n in to_a if n[1:] in senders} == {"CABINET"}
    assert {senders[n[1:]] for n in to_b if n[1:] in senders} == {"33700000002"}
    # nothing lost: each one at the SMSC or `unknown` (handed over or not when it died)
    peers = dict(Message.objects.values_list("peer", "status"))
    unknown = {p for p, status in peers.items() if status == S.UNKNOWN}
    assert len(unknown) == stranded
    assert {f"+{n}" for n in handed} | unknown == set(to_a) | set(to_b)
    connection.close()
