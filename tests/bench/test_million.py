"""bench/million.py's generator, small: the data it seeds must be data the application could
have written (so that the benchmark's figures mean something), on both databases."""

from __future__ import annotations

import random

import pytest
from django.db.models import Sum
from django.test import Client

from bench import million
from smsdesk.accounts.models import User
from smsdesk.directory.models import Contact, Group
from smsdesk.messaging import lifecycle
from smsdesk.messaging.models import (
    Campaign,
    Conversation,
    DailyCount,
    Message,
    MessagePart,
    OutboxEntry,
    UnreadEntry,
)
from smsdesk.optout.models import OptOut, OptOutEvent
from smsdesk.sms import numbers

S = Message.Status


@pytest.fixture
def seeded(db) -> million.Seeded:  # type: ignore[no-untyped-def]
    return million.seed(messages=2_000, correspondents=300, log=lambda _line: None, analyse=False)


def test_seeds_the_messages_asked_for_over_the_correspondents(seeded: million.Seeded) -> None:
    assert Message.objects.count() == 2_000
    assert 0 < Conversation.objects.count() <= 300
    assert Message.objects.filter(direction="in").count() == 800
    assert Message.objects.filter(peer=seeded.busiest_peer).count() > 2_000 / 300
    assert (
        Campaign.objects.get(id=seeded.big_campaign_id).recipient_count == seeded.big_campaign_size
    )
    assert seeded.word_hits[million.COMMON_WORD] > seeded.word_hits[million.RARE_WORD] > 0


def test_seeded_data_keeps_the_applications_rules(seeded: million.Seeded) -> None:
    assert million.check_invariants() == []


def test_waiting_messages_are_queued_as_the_outbox_requires(seeded: million.Seeded) -> None:
    waiting = Message.objects.filter(status__in=[S.QUEUED, S.SCHEDULED])
    assert waiting.filter(status=S.QUEUED).exists() and waiting.filter(status=S.SCHEDULED).exists()
    assert set(waiting.values_list("id", flat=True)) == set(
        OutboxEntry.objects.values_list("message_id", flat=True)
    )
    assert not MessagePart.objects.filter(message__status__in=[S.QUEUED, S.UNKNOWN]).exists()


def test_discussions_count_their_unread_messages(seeded: million.Seeded) -> None:
    unread = Message.objects.filter(status=S.UNREAD)
    assert unread.exists()
    assert sum(Conversation.objects.values_list("unread_count", flat=True)) == unread.count()
    # and the Unread list reads them from their entries, as the services write them
    assert set(UnreadEntry.objects.values_list("message_id", flat=True)) == set(
        unread.values_list("id", flat=True)
    )


def test_the_home_page_counters_say_what_the_messages_say(seeded: million.Seeded) -> None:
    counted = dict(
        DailyCount.objects.values_list("event").annotate(n=Sum("count")).values_list("event", "n")
    )
    assert counted["received"] == Message.objects.filter(direction="in").count()
    assert counted["sent"] == Message.objects.filter(direction="out", sent_at__isnull=False).count()


def test_stop_list_has_its_history(seeded: million.Seeded) -> None:
    stopped = set(OptOut.objects.values_list("number", flat=True))
    assert stopped
    added = set(OptOutEvent.objects.filter(action="added").values_list("number", flat=True))
    assert stopped <= added
    assert (
        Message.objects.filter(keyword="stop").count()
        == OptOutEvent.objects.filter(action="added", source="sms").count()
    )


def test_numbers_are_valid_french_mobiles(db) -> None:  # type: ignore[no-untyped-def]
    for number in million.french_numbers(random.Random(3), 2_000):
        assert numbers.normalise(million.national(number)) == number


def test_directory_holds_most_correspondents_in_groups(seeded: million.Seeded) -> None:
    peers = set(Conversation.objects.values_list("peer", flat=True))
    known = set(Contact.objects.values_list("number", flat=True))
    assert len(peers & known) >= 0.85 * len(peers)
    assert Group.objects.count() == len(million.GROUPS)
    assert Group.objects.get(name="Clients").contacts.count() == int(0.6 * len(known))


def test_deep_page_url_finds_a_page_past_the_first(seeded: million.Seeded) -> None:
    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    url, depth = million.deep_page_url(client, "/sms/sent/", depth_rows=100)
    assert url != "/sms/sent/", depth
    response = client.get(url)
    assert response.status_code == 200
    assert response.content != client.get("/sms/sent/").content


def test_invariant_check_sees_broken_data(seeded: million.Seeded) -> None:
    stray = Message.objects.filter(status=S.QUEUED).first()
    OutboxEntry.objects.filter(message_id=stray.id).delete()
    conversation = Conversation.objects.filter(unread_count__gt=0).first()
    Conversation.objects.filter(id=conversation.id).update(unread_count=0)
    problems = million.check_invariants()
    assert any("queue rows" in p for p in problems)
    assert any(conversation.peer in p for p in problems)
    lifecycle.enqueue([stray])  # the broken row was the point; the suite checks for strays
