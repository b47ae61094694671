"""Every page shows dates one way per language: the lists, the logs, the discussions, and the
messages that name a date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from smsdesk.calls import services as calls
from smsdesk.messaging import receiving
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOut

AT = datetime(2020, 1, 2, 14, 56, tzinfo=UTC)  # 15:56 in Paris
PAGES = [
    "/sms/received/",
    "/sms/conversations/",
    "/sms/conversations/with/?number=%2B33698765432",  # redirects to the conversation's id
    "/calls/",
]


@pytest.fixture
def dated(db) -> None:  # type: ignore[no-untyped-def]
    receiving.receive_inbound(gateway="sim", sender="+33698765432", text="Allô", received_at=AT)
    calls.record_call(gateway="sim", caller="+33698765432", at=AT)
    OptOut.objects.filter(
        pk=optout.opt_out("+33611111111", source=OptOut.Source.MANUAL)[0].pk
    ).update(created_at=AT)


@pytest.mark.parametrize(
    ("language", "shown"), [("fr", "02/01/2020 15:56"), ("en", "2 Jan 2020, 15:56")]
)
def test_one_format_per_language_on_every_page(
    client_bob: Client, dated: None, language: str, shown: str
) -> None:
    client_bob.post("/i18n/setlang/", {"language": language, "next": "/"})
    for path in [*PAGES, "/stop/"]:
        html = client_bob.get(path, follow=True).content.decode()
        assert shown in html, (language, path)
        assert "p.m." not in html and "a.m." not in html, path


def test_a_date_in_a_sentence_speaks_the_language_too(client_bob: Client) -> None:
    client_bob.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client_bob.post(
        "/sms/new/", {"text": "Hi", "numbers": "0612345678", "send_at": "2020-01-02T15:56"}
    )
    assert "The sending date 2 Jan 2020, 15:56 is in the past" in response.content.decode()
