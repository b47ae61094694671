"""Calls: the log, the optional SMS answer, the page and /api/v1/calls."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.calls import services as calls_services
from smsdesk.calls.models import Call
from smsdesk.messaging.models import Message
from smsdesk.optout import services as optout

CALLER = "+33698765432"


def call(caller: str = CALLER, at: datetime | None = None) -> Call:
    return calls_services.receive_call(gateway="simulator", caller=caller, at=at or timezone.now())


@pytest.fixture
def auto_reply(settings):  # type: ignore[no-untyped-def]
    settings.SMSDESK_CALLS_AUTO_REPLY = True
    settings.SMSDESK_CALLS_AUTO_REPLY_TEXT = "Nous ne prenons pas les appels, écrivez-nous."
    return settings


@pytest.mark.django_db
def test_no_reply_by_default() -> None:
    c = call("06 98 76 54 32")
    assert c.caller == CALLER and c.reply is None
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_caller_gets_one_reply_a_day(auto_reply) -> None:  # type: ignore[no-untyped-def]
    first = call()
    assert first.reply is not None
    assert (first.reply.peer, first.reply.status) == (CALLER, Message.Status.QUEUED)
    assert first.reply.body == "Nous ne prenons pas les appels, écrivez-nous."
    assert call().reply is None  # the same day: no second SMS
    assert call("+33611111111").reply is not None  # another caller gets one
    # A day later, the first caller is answered again.
    Call.objects.filter(caller=CALLER).update(at=timezone.now() - timedelta(days=1, minutes=1))
    assert call().reply is not None
    assert Message.objects.filter(peer=CALLER).count() == 2


@pytest.mark.django_db
def test_never_a_reply_to_a_stop_number_nor_a_hidden_one(auto_reply) -> None:  # type: ignore[no-untyped-def]
    optout.opt_out(CALLER, source="sms", keyword="STOP")
    assert call().reply is None
    hidden = call("")
    assert hidden.caller == "" and hidden.hidden and hidden.reply is None
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_page_shows_hidden_callers_and_replies(client_bob: Client, auto_reply) -> None:  # type: ignore[no-untyped-def]
    call()
    call("")
    html = client_bob.get("/calls/").content.decode()
    linked = "/sms/conversations/with/?number=%2B33698765432"  # the caller, linked by number
    assert linked in html and "masqué" in html and "Réponse SMS" in html
    assert "raccrochés" in html and "au plus une fois par jour" in html


@pytest.mark.django_db
def test_the_api_lists_and_filters_calls(operator: User) -> None:
    _token, raw = accounts.create_token(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    t0 = timezone.now() - timedelta(days=3)
    call(at=t0)
    call("+33611111111", at=t0 + timedelta(days=1))
    call("", at=t0 + timedelta(days=2))
    everything = api.get("/api/v1/calls").json()
    assert everything["count"] == 3
    assert [c["caller"] for c in everything["calls"]] == [None, "+33611111111", CALLER]
    by_number = api.get("/api/v1/calls", {"number": "06 98 76 54 32"}).json()
    assert [c["caller"] for c in by_number["calls"]] == [CALLER]
    since = (t0 + timedelta(hours=12)).isoformat()
    until = (t0 + timedelta(days=1, hours=12)).isoformat()
    window = api.get("/api/v1/calls", {"since": since, "until": until}).json()
    assert [c["caller"] for c in window["calls"]] == ["+33611111111"]
    page = api.get("/api/v1/calls", {"limit": 2}).json()
    assert len(page["calls"]) == 2 and page["next_cursor"] is not None
    rest = api.get("/api/v1/calls", {"limit": 2, "before": page["next_cursor"]}).json()
    assert [c["caller"] for c in rest["calls"]] == [CALLER]
    bad = api.get("/api/v1/calls", {"since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    assert Client().get("/api/v1/calls").status_code == 401
