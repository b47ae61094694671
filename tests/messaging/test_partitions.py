"""The message table partitioned by month on PostgreSQL (messaging/partitions.py, migration
0026): months created ahead, a stray month's rows moved out of the DEFAULT partition, the
migration both ways on a table with rows, retention dropping a whole month only when it may,
and the lists giving the same pages (order, keyset continuation) on both shapes."""

from __future__ import annotations

import importlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import Organisation, User
from smsdesk.calls.models import Call
from smsdesk.core import tenancy
from smsdesk.core.lists import Order, keyset_page
from smsdesk.messaging import filters, partitions
from smsdesk.messaging.models import GatewayState, Message, MessagePart, UnreadEntry
from smsdesk.notify.models import PendingCopy
from smsdesk.retention import services as retention

pytestmark = pytest.mark.django_db(transaction=True)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions: PostgreSQL only (SQLite: one table)"
)
migration = importlib.import_module("smsdesk.messaging.migrations.0026_message_by_month")

NOW = datetime.now(UTC)


def _message(created_at: datetime, *, status: str = Message.Status.DELIVERED, **kw) -> Message:
    GatewayState.objects.get_or_create(name="simulator", defaults={"kind": "simulator"})
    direction = Message.Direction.INBOUND if status in ("read", "unread") else "out"
    return Message.objects.create(
        organisation=tenancy.resolve(None),
        direction=direction,
        status=status,
        peer=kw.pop("peer", "+33612345678"),
        gateway_id="simulator",
        body=kw.pop("body", "bonjour"),
        created_at=created_at,
        **kw,
    )


def _where(message_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM messaging_message WHERE id = %s", [message_id]
        )
        return cursor.fetchone()[0]


def _months_ago(n: int) -> datetime:
    month = partitions.month_start(NOW)
    for _ in range(n):
        month = partitions.previous_month(month)
    return month + timedelta(days=10)


@on_postgresql
def test_the_table_is_partitioned_with_months_ahead() -> None:
    assert partitions.is_partitioned(connection)
    found = partitions.months()
    current = partitions.month_start(NOW)
    wanted = [current]
    for _ in range(partitions.AHEAD):
        wanted.append(partitions.next_month(wanted[-1]))
    assert set(wanted) <= set(found)
    # a month later, ensure() adds the next one
    later = partitions.next_month(current) + timedelta(days=3)
    created = partitions.ensure(now=later)
    assert created == [partitions.partition_name(partitions.next_month(wanted[-1]))]
    assert partitions.ensure(now=later) == []


@on_postgresql
def test_a_message_of_a_month_without_partition_goes_to_the_default_then_to_its_own() -> None:
    old = _message(_months_ago(30))
    assert _where(old.id) == partitions.DEFAULT
    assert Message.objects.get(id=old.id).body == "bonjour"
    created = partitions.ensure()
    assert created == [partitions.partition_name(partitions.month_start(old.created_at))]
    assert _where(old.id) == partitions.partition_name(partitions.month_start(old.created_at))
    assert Message.objects.get(id=old.id).created_at == old.created_at
    newer = _message(NOW)  # the identity goes on after it
    assert newer.id > old.id


@on_postgresql
def test_the_ranges_read_cover_every_moment() -> None:
    partitions.ensure(since=_months_ago(5))
    partitions.forget()
    spans = list(partitions.ranges())
    assert len(spans) >= 6  # this month (open upwards), 5 before or more (the oldest open down)
    assert spans[0][1] is None and spans[-1][0] is None
    for (start, _end), (_start2, end2) in itertools.pairwise(spans):
        assert start == end2  # contiguous, newest first


def test_ensure_does_nothing_on_sqlite() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    assert partitions.ensure() == []
    assert partitions.months() == []
    assert list(partitions.ranges()) == []


@on_postgresql
def test_the_migration_both_ways_on_a_table_with_rows() -> None:
    user = User.objects.create_user("bob", password="correct horse 42")
    read = _message(_months_ago(2), status="read")
    unread = _message(_months_ago(1), status="unread")
    UnreadEntry.objects.create(
        message=unread, organisation=unread.organisation, created_at=unread.created_at
    )
    sent = _message(_months_ago(3))
    MessagePart.objects.create(message=sent, seq=1, gateway_id="simulator", reference="r1")
    PendingCopy.objects.create(address="a@example.org", user=user, message=read, created_at=NOW)
    call = Call.objects.create(caller="+33640000000", gateway="simulator", at=NOW, reply=sent)
    with transaction.atomic(), connection.cursor() as cursor:
        migration._rebuild(cursor, by_month=False)  # back to one table
        assert not partitions.is_partitioned(connection)
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'messaging_message'")
        one_table = {row[0] for row in cursor.fetchall()}
        middle = _message(NOW).id
    with transaction.atomic(), connection.cursor() as cursor:
        migration._rebuild(cursor, by_month=True)
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'messaging_message'")
        by_month = {row[0] for row in cursor.fetchall()}
    assert partitions.is_partitioned(connection)
    assert {"msg_list", "msg_peer", "msg_org_id", "msg_org_recent", "msg_campaign"} <= by_month
    assert "msg_words" in by_month  # the words' GIN index (the searches)
    assert one_table == by_month
    assert middle > sent.id
    last = _message(NOW)
    assert last.id == middle + 1  # the identity continues
    assert _where(sent.id) == partitions.partition_name(partitions.month_start(sent.created_at))
    # what points to a message still finds it
    assert UnreadEntry.objects.get(message_id=unread.id).message.status == "unread"
    assert MessagePart.objects.get(reference="r1").message == sent
    assert PendingCopy.objects.get().message == read
    assert Call.objects.get(id=call.id).reply == sent
    # and Django's cascade removes it with its message
    Message.objects.filter(id=read.id).delete()
    assert not PendingCopy.objects.exists()
    Message.objects.filter(id=sent.id).delete()
    assert Call.objects.get(id=call.id).reply is None
    assert not MessagePart.objects.filter(reference="r1").exists()
    # words found through the rebuilt GIN index
    words = _message(NOW, body="parapluie rouge")
    found = filters.message_list(search="parapluie")
    assert [m.id for m in found] == [words.id]


def _old_month_world() -> dict[str, object]:
    org = tenancy.resolve(None)
    org.retention_months = 6
    org.retention_mode = Organisation.Retention.DELETE
    org.save()
    start = partitions.month_start(_months_ago(10))
    partitions.ensure(since=start)
    user = User.objects.create_user("bob", password="correct horse 42")
    gone = [_message(start + timedelta(days=d)) for d in (1, 5, 20)]
    MessagePart.objects.create(message=gone[0], seq=1, gateway_id="simulator", reference="g1")
    read = _message(start + timedelta(days=2), status="read")
    PendingCopy.objects.create(address="a@example.org", user=user, message=read, created_at=NOW)
    call = Call.objects.create(caller="+33640000000", gateway="simulator", at=NOW, reply=gone[1])
    kept = _message(_months_ago(2))
    return {"start": start, "gone": [*gone, read], "call": call, "kept": kept}


@on_postgresql
def test_retention_drops_a_whole_month_and_what_points_to_it() -> None:
    world = _old_month_world()
    start = world["start"]
    assert retention.droppable(start, now=timezone.now())
    assert retention.drop_months(now=timezone.now()) == 4
    assert partitions.partition_name(start) not in {
        partitions.partition_name(m) for m in partitions.months()
    }
    assert not Message.objects.filter(id__in=[m.id for m in world["gone"]]).exists()
    assert not MessagePart.objects.filter(reference="g1").exists()
    assert not PendingCopy.objects.exists()
    assert Call.objects.get(id=world["call"].id).reply_id is None
    assert Message.objects.filter(id=world["kept"].id).exists()
    # nothing left to drop: the newer months are within the 6 months kept
    assert retention.drop_months(now=timezone.now()) == 0


@on_postgresql
@pytest.mark.parametrize("why", ["unread", "waiting", "masks", "keeps"])
def test_retention_refuses_a_month_that_cannot_go_whole(why: str) -> None:
    world = _old_month_world()
    start = world["start"]
    if why == "unread":
        unread = _message(start + timedelta(days=3), status="unread")
        UnreadEntry.objects.create(
            message=unread, organisation=unread.organisation, created_at=unread.created_at
        )
    elif why == "waiting":
        _message(start + timedelta(days=3), status=Message.Status.SENDING)
    elif why == "masks":
        Organisation.objects.update(retention_mode=Organisation.Retention.MASK)
    else:
        Organisation.objects.update(retention_months=24)
    assert not retention.droppable(start, now=timezone.now())
    assert retention.drop_months(now=timezone.now()) == 0
    assert Message.objects.filter(id__in=[m.id for m in world["gone"]]).count() == 4


def _walk(qs, order: Order, per_page: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Every id of `qs` through its keyset pages, following the next cursors."""
    ids: list[int] = []
    after = None
    while True:
        page = keyset_page(qs, order, per_page=per_page, after=after, count=False)
        ids.extend(m.id for m in page.rows)
        if not page.has_next:
            return ids
        after = page.next_cursor


def test_the_lists_give_the_same_pages_across_months(client_bob: Client) -> None:
    """Over messages spread on 14 months (same dates, some equal), the pages follow the sort
    (date, then id) across every month, forwards and from the last page, on both shapes."""
    partitions.ensure(since=_months_ago(14))
    made = []
    for i in range(60):
        at = _months_ago(i % 15) + timedelta(hours=i % 4)
        made.append(_message(at, body=f"texte {i} parapluie" if i % 7 == 0 else f"texte {i}"))
    expected = [m.id for m in sorted(made, key=lambda m: (m.created_at, m.id), reverse=True)]
    order = Order("date", ("created_at", "id"), descending=True)
    qs = filters.message_list(direction="out")
    for per_page in (1, 7, 25, 100):
        assert _walk(qs, order, per_page) == expected
    last = keyset_page(qs, order, per_page=7, last=True, count=False)
    assert [m.id for m in last.rows] == expected[-7:]
    before = keyset_page(qs, order, per_page=7, before=last.previous_cursor, count=False)
    assert [m.id for m in before.rows] == expected[-14:-7]
    # a search's few ids, across the months
    rare = [m.id for m in filters.message_list(direction="out", search="parapluie")]
    assert _walk(filters.message_list(direction="out", search="parapluie"), order, 3) == [
        i for i in expected if i in set(rare)
    ]
    # the web page and the API show the same first rows
    response = client_bob.get("/sms/sent/")
    assert response.status_code == 200
