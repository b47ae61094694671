"""The notices of new SMS: what every page asks every few seconds. One query, no write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Conversation, Message

URL = "/sms/inbound/notices/"
AT = datetime(2020, 1, 2, 14, 2, tzinfo=UTC)  # not today: an absolute date


def receive(sender: str, text: str) -> Message:
    return receiving.receive_inbound(gateway="sim", sender=sender, text=text, received_at=AT)


@pytest.mark.django_db
def test_without_after_it_says_where_to_start(client_bob: Client) -> None:
    assert client_bob.get(URL).json() == {"last": 0, "new": []}
    receive("+33611111111", "un")
    receive("+33622222222", "deux")
    sending.create_campaign(author=None, body="sortant", to=["0612345678"])
    newest = Message.objects.latest("id")  # outbound: the mark is the newest of any kind
    response = client_bob.get(URL)
    assert response.json() == {"last": newest.id, "new": []}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_it_gives_what_arrived_since_newest_first_and_marks_nothing_read(
    client_bob: Client,
) -> None:
    first = receive("+33611111111", "déjà vu")
    sending.create_campaign(author=None, body="sortant", to=["0612345678"])
    second = receive("+33622222222", "Bonjour " + "x" * 200)
    third = receive("BANQUE", "<b>Code</b> 1234")
    with CaptureQueriesContext(connection) as queries:
        data = client_bob.get(URL, {"after": first.id}).json()
    notice_queries = [q["sql"].upper() for q in queries if "messaging_message" in q["sql"]]
    assert len(notice_queries) == 2  # the newest id, then the inbound ones up to it
    assert all(sql.startswith("SELECT") for sql in notice_queries)
    assert data["last"] == third.id and data["more"] is False
    assert [n["id"] for n in data["new"]] == [third.id, second.id]
    assert data["new"][0] == {
        "id": third.id,
        "from": "BANQUE",
        "name": "BANQUE",
        "text": "<b>Code</b> 1234",  # JSON; the page puts it in as text, never as HTML
        "at": "02/01/2020 15:02",
        "url": "/sms/conversations/with/?number=BANQUE",
    }
    assert len(data["new"][1]["text"]) == 80 and data["new"][1]["text"].endswith("…")
    # nothing was marked read
    assert set(Message.objects.filter(direction="in").values_list("status", flat=True)) == {
        "unread"
    }
    assert Conversation.objects.get(peer="+33622222222").unread_count == 1
    # asked again from the newest: nothing new
    assert client_bob.get(URL, {"after": third.id}).json() == {
        "last": third.id,
        "more": False,
        "new": [],
    }


@pytest.mark.django_db
def test_many_at_once_are_three_notices_and_a_count(client_bob: Client) -> None:
    before = receive("+33611111111", "avant")
    for i in range(5):
        receive(f"+3361111112{i}", f"n°{i}")
    data = client_bob.get(URL, {"after": before.id}).json()
    assert [n["text"] for n in data["new"]] == ["n°4", "n°3", "n°2"]
    assert data["more"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("after", ["", "abc", "-1", "1.5", "١٢", "9" * 30, "1 OR 1=1"])
def test_a_strange_after_is_a_fresh_start(client_bob: Client, after: str) -> None:
    newest = receive("+33611111111", "un")
    assert client_bob.get(URL, {"after": after}).json() == {"last": newest.id, "new": []}


@pytest.mark.django_db
def test_a_stranger_gets_no_notice() -> None:
    response = Client().get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("sender", ["A/B", "../x", "a b"])
def test_an_odd_sender_still_gets_its_notice(client_bob: Client, sender: str) -> None:
    before = receive("+33611111111", "avant")
    odd = receive(sender, "bizarre")
    data = client_bob.get(URL, {"after": before.id}).json()
    assert data["last"] == odd.id and data["new"][0]["from"] == odd.peer
    # the by-number link, encoded: it redirects to the conversation by its id
    link = data["new"][0]["url"]
    assert link.startswith("/sms/conversations/with/?number=")
    assert client_bob.get(link).status_code == 302


@pytest.mark.django_db
def test_the_mark_moves_past_a_big_send_so_the_next_question_reads_only_what_is_new(
    client_bob: Client,
) -> None:
    first = receive("+33611111111", "avant l'envoi")
    start = client_bob.get(URL, {"after": first.id}).json()["last"]
    sending.create_campaign(
        author=None, body="campagne", to=[f"+336120{i:05d}" for i in range(300)]
    )
    data = client_bob.get(URL, {"after": start}).json()
    newest = Message.objects.latest("id").id
    assert data == {"last": newest, "more": False, "new": []}  # past the 300 outbound rows
    late = receive("+33622222222", "après")
    with CaptureQueriesContext(connection) as queries:
        data = client_bob.get(URL, {"after": newest}).json()
    assert [n["id"] for n in data["new"]] == [late.id]
    inbound_sql = [q["sql"] for q in queries if "messaging_message" in q["sql"]][-1]
    assert f'"id" > {newest}' in inbound_sql  # a range that starts after the campaign


@pytest.mark.django_db
def test_a_mark_from_a_restored_older_database_starts_again_from_its_newest(
    client_bob: Client,
) -> None:
    newest = receive("+33611111111", "un")
    data = client_bob.get(URL, {"after": newest.id + 1000}).json()
    assert data == {"last": newest.id, "more": False, "new": []}
    fresh = receive("+33622222222", "deux")
    assert [n["id"] for n in client_bob.get(URL, {"after": data["last"]}).json()["new"]] == [
        fresh.id
    ]


@pytest.mark.django_db
def test_a_notice_names_the_contact(client_bob: Client) -> None:
    from smsdesk.directory import services as directory

    first = receive("+33611111111", "avant")
    directory.create_contact(name="DURAND", first_name="Hélène", number="0643000013")
    receive("+33643000013", "Bonjour")
    [notice] = client_bob.get(URL, {"after": first.id}).json()["new"]
    assert (notice["from"], notice["name"]) == ("+33643000013", "Hélène DURAND (06 43 00 00 13)")
