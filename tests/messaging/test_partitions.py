"""The message table partitioned by month on PostgreSQL, the provider's option
(messaging/partitions.py, `smsdesk messages partition`): `migrate` leaves one table; the
command rebuilds it by month and back on a table with rows; months created ahead, a stray
month's rows moved out of the DEFAULT partition, retention dropping a whole month only when
it may, and the lists giving the same pages (order, keyset continuation) on both shapes.

Every test that partitions the table makes it one table again at its end (the `by_month`
fixture): the other tests share the database and expect the default."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

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


def _one_table_again() -> None:
    if partitions.is_partitioned(connection):
        partitions.rebuild(connection, by_month=False)


@pytest.fixture
def by_month(transactional_db: None) -> Iterator[None]:
    """The message table partitioned by month for the test, one table again after it."""
    if connection.vendor != "postgresql":
        pytest.skip("partitions: PostgreSQL only (SQLite: one table)")
    assert partitions.rebuild(connection, by_month=True) >= 1 + partitions.AHEAD
    try:
        yield
    finally:
        _one_table_again()


@pytest.fixture
def shape_restored(transactional_db: None) -> Iterator[None]:
    """For a test that runs the command itself: one table again after it, whatever it did."""
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            _one_table_again()


def _partition(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("messages", "partition", *args, stdout=out)
    return out.getvalue()


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


def test_the_table_is_partitioned_with_months_ahead(by_month: None) -> None:
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


def test_a_message_of_a_month_without_partition_goes_to_the_default_then_to_its_own(
    by_month: None,
) -> None:
    old = _message(_months_ago(30))
    assert _where(old.id) == partitions.DEFAULT
    assert Message.objects.get(id=old.id).body == "bonjour"
    created = partitions.ensure()
    assert created == [partitions.partition_name(partitions.month_start(old.created_at))]
    assert _where(old.id) == partitions.partition_name(partitions.month_start(old.created_at))
    assert Message.objects.get(id=old.id).created_at == old.created_at
    newer = _message(NOW)  # the identity goes on after it
    assert newer.id > old.id


def test_the_ranges_read_cover_every_moment(by_month: None) -> None:
    partitions.ensure(since=_months_ago(5))
    partitions.forget()
    spans = list(partitions.ranges())
    assert len(spans) >= 6  # this month (open upwards), 5 before or more (the oldest open down)
    assert spans[0][1] is None and spans[-1][0] is None
    for (start, _end), (_start2, end2) in itertools.pairwise(spans):
        assert start == end2  # contiguous, newest first


def test_migrate_leaves_one_table_and_ensure_makes_no_month() -> None:
    """The default on both databases: one table; ensure() (after migrate, the worker's
    heartbeat) creates nothing, the lists have no month to read."""
    assert not partitions.is_partitioned(connection)
    _message(_months_ago(30))
    assert partitions.ensure() == []
    assert partitions.ensure(since=_months_ago(5)) == []
    partitions.forget()
    assert partitions.months() == []
    assert list(partitions.ranges()) == []
    assert retention.drop_months(now=timezone.now()) == 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relname LIKE %s AND relkind IN ('r', 'p')",
                ["messaging\\_message\\_%"],
            )
            assert cursor.fetchone()[0] == 0


@on_postgresql
def test_the_command_partitions_a_table_with_rows_and_back(shape_restored: None) -> None:
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
    for i in range(20):
        _message(_months_ago(i % 6) + timedelta(hours=i % 3), body=f"texte {i}")
    order = Order("date", ("created_at", "id"), descending=True)
    one_table_pages = _walk(filters.message_list(direction="out"), order, 7)
    assert len(one_table_pages) == 21
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'messaging_message'")
        one_table = {row[0] for row in cursor.fetchall()}

    said = _partition("--by-month")
    assert "locked" in said and "Stop the worker" in said
    assert "Done." in said and "23 messages" in said
    assert partitions.is_partitioned(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'messaging_message'")
        by_month = {row[0] for row in cursor.fetchall()}
    assert {"msg_list", "msg_peer", "msg_org_id", "msg_org_recent", "msg_campaign"} <= by_month
    assert "msg_words" in by_month  # the words' GIN index (the searches)
    assert one_table == by_month
    assert _where(sent.id) == partitions.partition_name(partitions.month_start(sent.created_at))
    before = max(Message.objects.values_list("id", flat=True))
    middle = _message(_months_ago(0) + timedelta(days=1))  # the newest (first in the list)
    assert middle.id == before + 1  # the identity continues
    # what points to a message still finds it; the same pages
    assert UnreadEntry.objects.get(message_id=unread.id).message.status == "unread"
    assert MessagePart.objects.get(reference="r1").message == sent
    assert PendingCopy.objects.get().message == read
    assert Call.objects.get(id=call.id).reply == sent
    assert _walk(filters.message_list(direction="out"), order, 7) == [middle.id, *one_table_pages]

    said = _partition("--one-table")
    assert "Done." in said and "one table" in said
    assert not partitions.is_partitioned(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'messaging_message'")
        assert {row[0] for row in cursor.fetchall()} == one_table
    last = _message(_months_ago(0) + timedelta(days=2))
    assert last.id == middle.id + 1  # the identity continues
    assert _where(sent.id) == "messaging_message"
    assert UnreadEntry.objects.get(message_id=unread.id).message.status == "unread"
    assert MessagePart.objects.get(reference="r1").message == sent
    assert PendingCopy.objects.get().message == read
    assert Call.objects.get(id=call.id).reply == sent
    assert _walk(filters.message_list(direction="out"), order, 7) == [
        last.id,
        middle.id,
        *one_table_pages,
    ]
    # Django's cascade still removes what points to a message
    Message.objects.filter(id=read.id).delete()
    assert not PendingCopy.objects.exists()
    Message.objects.filter(id=sent.id).delete()
    assert Call.objects.get(id=call.id).reply is None
    assert not MessagePart.objects.filter(reference="r1").exists()
    words = _message(NOW, body="parapluie rouge")
    assert [m.id for m in filters.message_list(search="parapluie")] == [words.id]


@on_postgresql
def test_the_command_refuses_the_shape_the_table_has(shape_restored: None) -> None:
    with pytest.raises(CommandError, match="already one table") as refused:
        _partition("--one-table")
    assert refused.value.returncode == 1
    _partition("--by-month")
    with pytest.raises(CommandError, match="already partitioned by month") as refused:
        _partition("--by-month")
    assert refused.value.returncode == 1
    assert partitions.is_partitioned(connection)


@on_postgresql
def test_a_dry_run_says_what_it_would_do_and_changes_nothing(shape_restored: None) -> None:
    for n in range(3):
        _message(_months_ago(n + 2))
    said = _partition("--by-month", "--dry-run")
    assert "Dry run, nothing changed." in said
    assert "3 messages" in said
    assert f"{4 + 1 + partitions.AHEAD} months" in said  # the rows' months to 3 ahead
    assert "locked" in said and "Stop the worker" in said
    assert not partitions.is_partitioned(connection)
    _partition("--by-month")
    said = _partition("--one-table", "--dry-run")
    assert "Dry run, nothing changed." in said and "one table" in said
    assert partitions.is_partitioned(connection)


def test_the_command_refuses_on_sqlite(shape_restored: None) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    for shape in ("--by-month", "--one-table"):
        for dry in ((), ("--dry-run",)):
            with pytest.raises(CommandError, match="PostgreSQL only") as refused:
                _partition(shape, *dry)
            assert refused.value.returncode == 1
            assert "\n" not in str(refused.value)
    assert partitions.months() == []


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


def test_retention_drops_a_whole_month_and_what_points_to_it(by_month: None) -> None:
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


@pytest.mark.parametrize("why", ["unread", "waiting", "masks", "keeps"])
def test_retention_refuses_a_month_that_cannot_go_whole(by_month: None, why: str) -> None:
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


@pytest.fixture(params=["one table", "by month"])
def shape(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[str]:
    if request.param == "by month":
        request.getfixturevalue("by_month")
    yield request.param


def test_the_lists_give_the_same_pages_across_months(client_bob: Client, shape: str) -> None:
    """Over messages spread on 14 months (same dates, some equal), the pages follow the sort
    (date, then id) across every month, forwards and from the last page, on both shapes."""
    assert partitions.is_partitioned(connection) == (shape == "by month")
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
