"""Two modems (two SIMs, e.g. two operators) served by one worker process: each message
leaves through the gateway it was saved for and nowhere else, one modem unplugged holds back
only its own messages, and a reply leaves through the modem its correspondent wrote to."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from smsdesk.gateways.modem import build_modem
from smsdesk.gateways.registry import parse_spec
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message, MessagePart
from smsdesk.worker.loop import Worker
from tests.gateways.modem.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

S = Message.Status


def numbers(first: int, count: int) -> list[str]:
    return [f"+336120000{first + i:02d}" for i in range(count)]


def statuses(to: list[str]) -> Counter:
    return Counter(Message.objects.filter(peer__in=to).values_list("status", flat=True))


def test_two_modems_in_one_worker_each_send_their_own(make_emulator, settings) -> None:  # type: ignore[no-untyped-def]
    orange = make_emulator(profile="huawei", ring_every=0.1)
    sfr = make_emulator(profile="quectel", ring_every=0.1)
    settings.SMSDESK_GATEWAYS = [
        f"orange=modem:{orange.path}?health_every=60",
        f"sfr=modem:{sfr.path}?health_every=60",
    ]
    gateways = [build_modem(parse_spec(spec)) for spec in settings.SMSDESK_GATEWAYS]
    worker = Worker(gateways, idle_sleep=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        via_orange, via_sfr = numbers(0, 5), numbers(10, 5)
        sending.create_campaign(author=None, body="Par Orange", to=via_orange, gateway="orange")
        sending.create_campaign(author=None, body="Par SFR", to=via_sfr, gateway="sfr")
        wait_for(lambda: statuses(via_orange + via_sfr) == {S.DELIVERED: 10}, 30)
        assert sorted(s.number for s in orange.submitted) == via_orange
        assert sorted(s.number for s in sfr.submitted) == via_sfr
        assert set(
            MessagePart.objects.filter(message__peer__in=via_sfr).values_list(
                "gateway_id", flat=True
            )
        ) == {"sfr"}

        # Orange's modem is pulled out: only its messages wait; SFR's go on.
        orange.unplug()
        later_orange, later_sfr = numbers(20, 3), numbers(30, 3)
        sending.create_campaign(author=None, body="Plus tard", to=later_orange, gateway="orange")
        sending.create_campaign(author=None, body="Plus tard", to=later_sfr, gateway="sfr")
        wait_for(lambda: statuses(later_sfr) == {S.DELIVERED: 3}, 30)
        waiting = statuses(later_orange)
        assert set(waiting) <= {S.QUEUED, S.SCHEDULED}, waiting  # not failed, not unknown
        orange.plug()
        wait_for(lambda: statuses(later_orange) == {S.DELIVERED: 3}, 60)

        # A correspondent writes to the SFR number: the reply leaves through SFR.
        sfr.deliver("+33699999999", "Vous êtes ouverts samedi ?")
        wait_for(lambda: Message.objects.filter(peer="+33699999999").exists())
        assert Message.objects.get(peer="+33699999999").gateway_id == "sfr"
        sending.create_campaign(
            author=None,
            body="Oui, de 9 h à 12 h.",
            to=["+33699999999"],
            personalise_text=False,
            gateway=sending.reply_gateway("+33699999999"),
        )
        wait_for(lambda: any(s.number == "+33699999999" for s in sfr.submitted), 30)
    finally:
        worker.stop()
        thread.join(30)
    assert not thread.is_alive()
    # Each number handed over once, by its own modem only.
    everything = [s.number for s in orange.submitted + sfr.submitted]
    assert max(Counter(everything).values()) == 1
    assert sorted(s.number for s in orange.submitted) == sorted(via_orange + later_orange)
    assert sorted(s.number for s in sfr.submitted) == sorted(via_sfr + later_sfr + ["+33699999999"])
