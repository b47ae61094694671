"""Keyset pages (core/lists.py): cursors that round-trip and refuse anything else, ties broken
by the id, and walks over every page, forward and back, that show each row exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import translation

from smsdesk.core.lists import (
    Order,
    Page,
    bounded_count,
    decode_cursor,
    encode_cursor,
    keyset_page,
)
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message

NEWEST = Order("-date", ("created_at", "id"), descending=True)
BY_NUMBER = Order("number", ("peer", "created_at", "id"), descending=False)
MOMENT = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_a_cursor_round_trips_and_says_nothing_readable() -> None:
    token = encode_cursor(NEWEST, [MOMENT, 42])
    assert "2026" not in token and "=" not in token
    assert decode_cursor(Message, NEWEST, token) == [MOMENT, 42]
    token = encode_cursor(BY_NUMBER, ["+33612345678", MOMENT, 7])
    assert decode_cursor(Message, BY_NUMBER, token) == ["+33612345678", MOMENT, 7]


@pytest.mark.parametrize(
    "token",
    [None, "", "x", "====", "%00", "A" * 2000, "bnVsbA"],  # the last one is `null`
)
def test_a_damaged_cursor_is_refused(token: str | None) -> None:
    assert decode_cursor(Message, NEWEST, token) is None


def test_a_cursor_of_another_order_is_refused() -> None:
    token = encode_cursor(NEWEST, [MOMENT, 42])
    assert decode_cursor(Message, Order("date", ("created_at", "id"), False), token) is None
    assert decode_cursor(Message, BY_NUMBER, token) is None


def _messages(count: int, *, at: datetime = MOMENT) -> list[int]:
    sending.create_campaign(author=None, body="x", to=[f"+336123{i:05d}" for i in range(count)])
    Message.objects.update(created_at=at)  # every row ties on the date: the id decides
    return list(Message.objects.order_by("-created_at", "-id").values_list("id", flat=True))


def _ids(page: Page) -> list[int]:
    return [m.id for m in page]


def _walk_forward(order: Order, per_page: int) -> list[list[int]]:
    pages, after = [], None
    while True:
        page = keyset_page(Message.objects.all(), order, per_page=per_page, after=after)
        pages.append(_ids(page))
        if not page.has_next:
            return pages
        after = page.next_cursor


@pytest.mark.django_db
def test_ties_on_the_date_are_paged_by_id_without_a_row_twice_or_missed() -> None:
    expected = _messages(23)
    pages = _walk_forward(NEWEST, 10)
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [i for page in pages for i in page] == expected


@pytest.mark.django_db
def test_walking_back_from_the_last_page_shows_every_row_once() -> None:
    expected = _messages(23)
    page = keyset_page(Message.objects.all(), NEWEST, per_page=10, last=True)
    assert _ids(page) == expected[-10:] and not page.has_next and page.has_previous
    seen = _ids(page)
    while page.has_previous:
        page = keyset_page(Message.objects.all(), NEWEST, per_page=10, before=page.previous_cursor)
        seen = _ids(page) + seen
    assert seen == expected
    assert not page.has_previous and page.has_next


@pytest.mark.django_db
def test_rows_arriving_during_a_walk_neither_repeat_nor_hide_the_others() -> None:
    expected = _messages(25)
    first = keyset_page(Message.objects.all(), NEWEST, per_page=10)
    # New SMS arrive (newer than everything) and old ones are imported (older than all).
    sending.create_campaign(author=None, body="new", to=["+33699999991", "+33699999992"])
    sending.create_campaign(author=None, body="old", to=["+33699999993"])
    Message.objects.filter(body="old").update(created_at=MOMENT - timedelta(days=1))
    seen, page = _ids(first), first
    while page.has_next:
        page = keyset_page(Message.objects.all(), NEWEST, per_page=10, after=page.next_cursor)
        seen += _ids(page)
    old = Message.objects.get(body="old").id
    assert seen == [*expected, old]  # the newer ones are above page 1: not shown again
    assert len(seen) == len(set(seen))


@pytest.mark.django_db
def test_by_number_pages_in_the_order_of_numbers_both_ways() -> None:
    _messages(15)
    pages = _walk_forward(BY_NUMBER, 4)
    peers = [Message.objects.get(id=i).peer for i in [i for page in pages for i in page]]
    assert peers == sorted(peers) and len(peers) == 15


@pytest.mark.django_db
def test_a_cursor_past_the_end_shows_the_first_page() -> None:
    expected = _messages(5)
    token = encode_cursor(NEWEST, [MOMENT - timedelta(days=365), 1])
    page = keyset_page(Message.objects.all(), NEWEST, per_page=10, after=token)
    assert _ids(page) == expected and not page.has_previous


@pytest.mark.django_db
def test_counts_are_exact_up_to_the_cap_then_estimated_or_a_floor() -> None:
    _messages(12)
    assert bounded_count(Message.objects.all(), cap=20) == (12, True, False)
    count, exact, estimated = bounded_count(Message.objects.all(), cap=5)
    assert not exact
    if connection.vendor == "postgresql" and estimated:
        assert count > 5  # the planner's guess, said "about"
    else:
        assert (count, estimated) == (5, False)  # "more than 5"


def test_the_count_line_says_exact_about_or_more_than() -> None:
    with translation.override("fr"):
        assert Page([], 25, False, False, count=1).count_text == "1 résultat"
        assert Page([], 25, False, False, count=37).count_text == "37 résultats"
        estimated = Page(
            [], 25, False, False, count=120000, count_exact=False, count_estimated=True
        )
        assert estimated.count_text.startswith("environ 120") and "000 résultats" in (
            estimated.count_text
        )
        floor = Page([], 25, False, False, count=1000, count_exact=False)
        assert floor.count_text.startswith("plus de 1") and floor.count_text.endswith(
            "000 résultats"
        )
    with translation.override("en"):
        assert Page([], 25, False, False, count=1000, count_exact=False).count_text == (
            "more than 1,000 results"
        )
