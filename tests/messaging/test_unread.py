"""Unread messages: the narrow UnreadEntry table the Unread list reads, kept with every path that
makes a message unread or read, the menu badge, and a conversation view that writes nothing
when nothing is unread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsdesk.messaging import actions, filters, receiving, sending
from smsdesk.messaging.models import Conversation, Message, UnreadEntry

pytestmark = pytest.mark.django_db


def receive(sender: str, text: str, minutes_ago: int = 0) -> Message:
    return receiving.receive_inbound(
        gateway="sim",
        sender=sender,
        text=text,
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def unread_ids() -> set[int]:
    return set(UnreadEntry.objects.values_list("message_id", flat=True))


def test_a_received_sms_is_unread_until_its_conversation_is_read(client_bob: Client) -> None:
    first = receive("+33611111111", "un", 2)
    second = receive("+33611111111", "deux", 1)
    other = receive("+33622222222", "autre")
    assert unread_ids() == {first.id, second.id, other.id}
    assert receiving.unread_total() == 3
    assert UnreadEntry.objects.get(message=first).created_at == first.created_at

    conversation = Conversation.objects.get(peer="+33611111111")
    client_bob.get(f"/sms/conversations/{conversation.id}/")
    assert unread_ids() == {other.id}
    assert receiving.unread_total() == 1
    assert set(Message.objects.filter(status="read").values_list("id", flat=True)) == {
        first.id,
        second.id,
    }


def test_the_unread_list_shows_the_unread_ones_only(client_bob: Client) -> None:
    read = receive("+33611111111", "déjà lu", 5)
    actions.mark_read([read.id])
    receive("+33622222222", "pas encore lu")
    sending.create_campaign(author=None, body="sortant", to=["0633333333"])
    html = client_bob.get("/sms/unread/").content.decode()
    assert "pas encore lu" in html and "déjà lu" not in html and "sortant" not in html
    assert list(filters.message_list(status="unread").values_list("body", flat=True)) == [
        "pas encore lu"
    ]


def test_mark_read_removes_the_entry_once(client_bob: Client) -> None:
    message = receive("+33611111111", "un")
    assert actions.mark_read([message.id]) == 1
    assert actions.mark_read([message.id]) == 0  # already read: nothing counted twice
    assert unread_ids() == set()
    assert Conversation.objects.get().unread_count == 0


def test_a_deleted_message_leaves_no_entry() -> None:
    receive("+33611111111", "un")
    Message.objects.all().delete()
    assert not UnreadEntry.objects.exists()


def test_the_same_sms_delivered_twice_is_unread_once() -> None:
    at = timezone.now()
    for _ in range(2):  # the gateway's identity of the delivery tells it is the same SMS
        receiving.receive_inbound(
            gateway="sim", sender="+33611111111", text="x", received_at=at, delivery_id="sim:1"
        )
    assert UnreadEntry.objects.count() == 1


def test_a_read_conversation_is_viewed_without_writing(client_bob: Client) -> None:
    receive("+33611111111", "un")
    conversation = Conversation.objects.get()
    url = f"/sms/conversations/{conversation.id}/"
    client_bob.get(url)  # marks it read: writes
    client_bob.get(url)  # the session settles
    with CaptureQueriesContext(connection) as queries:
        assert client_bob.get(url).status_code == 200
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in queries.captured_queries]
    assert statements and set(statements) == {"SELECT"}, statements


def test_viewing_an_unread_conversation_writes(client_bob: Client) -> None:
    receive("+33611111111", "un")
    conversation = Conversation.objects.get()
    client_bob.get(f"/sms/conversations/{conversation.id}/")  # the session settles
    receive("+33611111111", "deux")
    with CaptureQueriesContext(connection) as queries:
        client_bob.get(f"/sms/conversations/{conversation.id}/")
    assert any(q["sql"].lstrip().upper().startswith("UPDATE") for q in queries.captured_queries)
