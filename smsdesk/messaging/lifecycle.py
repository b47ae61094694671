"""The life of a message: every change of `Message.status`, declared once and made here.

`TRANSITIONS` is the whole lifecycle (docs/architecture.md prints it as a table). Each
`Transition` says which states a message may leave (`sources`), the state it reaches
(`target`), the day counters it moves (messaging/stats.py), what happens to its row in the
worker's queue (`OutboxEntry`: `Queue.ADD` when it starts waiting, `Queue.REMOVE` when it stops)
and the event it emits for webhooks. The functions below are the only code that writes
`Message.status`; each moves the status, the queue row, the day counters and the campaign's
counts (`CampaignCountDelta`) in one call, in the caller's transaction, so no caller has to
remember a second write. Whoever listens (`subscribers`: the webhooks' outbox)
is called inside that same transaction with the batch of `Change`s.

They are batched SQL, not a loop over objects: the worker moves 500 messages per statement
(DESIGN.md, "Throughput"; bench/RESULTS.md). Each statement filters on ONE source state, the
usual one first (`sources[0]`), and tries the others only for the messages it did not move:
so the old state of every message moved is known exactly (the campaign's counts and the
`Change`s need it) without reading the rows first, and the usual case costs one statement.
PostgreSQL's hot paths (the claim, the results, the reports) put the counters in the same
statement (data-modifying CTEs); with a subscriber they take the generic path, which returns
each row.

Why the tables look as they do (bench/RESULTS.md): no index of the message table names a column
these statements change (`status`, `sent_at`, ...), so PostgreSQL rewrites a message in place
(a HOT update); the claim reads due messages from the narrow `OutboxEntry` queue, reports find
their message through `MessagePart`. Counters are appended (`CountDelta`,
`CampaignCountDelta`), never updated, so two workers never wait on one counter row.

`OutboxEntry.gateway_id` and `MessagePart.gateway_id` are text, not foreign keys to
`GatewayState`: the name IS the gateway's key (`GatewayState.name` is the primary key), so the
text is the same value a key would hold, with no join to read it; a constraint would cost a
trigger per row at each commit of the worker's batches (bench/RESULTS.md), and a queue row or a
part never outlives its message, whose `gateway` is the real foreign key (PROTECT).
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_noop

from smsdesk.core.bulk import insert_rows
from smsdesk.gateways.base import DeliveryState, OutboundSMS, Outcome, SendResult, StatusReport
from smsdesk.messaging import stats
from smsdesk.messaging.models import (
    BLOCKED_REASON,
    Campaign,
    CampaignCount,
    CampaignCountDelta,
    Conversation,
    CountDelta,
    Message,
    MessagePart,
    OutboxEntry,
    UnreadEntry,
)
from smsdesk.messaging.sql import (
    IDS_PER_STATEMENT,
    SQLITE_ROWS_PER_STATEMENT,
    Cursor,
    chunks,
    db_time,
    is_pg,
    marks,
    pg_bound,
    update_from_values,
)

log = logging.getLogger(__name__)

S = Message.Status
P = MessagePart.State
E = stats.Event
TABLE = Message._meta.db_table
PARTS = MessagePart._meta.db_table
QUEUE = OutboxEntry._meta.db_table
DELTAS = CountDelta._meta.db_table
CAMPAIGN_DELTAS = CampaignCountDelta._meta.db_table
CAMPAIGN_COUNTS = CampaignCount._meta.db_table
CAMPAIGNS = Campaign._meta.db_table
OUT = Message.Direction.OUTBOUND

# "Waiting" meant two things; each has its name now.
CLAIMABLE = (S.QUEUED, S.SCHEDULED)  # has a queue row: what a claim may take
OUTSTANDING = (S.SCHEDULED, S.QUEUED, S.SENDING)  # not gone out yet (a campaign's "waiting")

# A campaign's counts are per bucket, the columns of its page (campaigns.BUCKETS).
BUCKET_OF: dict[str, str] = {
    **{status: "waiting" for status in OUTSTANDING},
    S.SENT: "sent",
    S.DELIVERED: "delivered",
    S.FAILED: "failed",
    S.BLOCKED: "blocked",
    S.UNKNOWN: "unknown",
    S.CANCELLED: "cancelled",
}

# Reasons are stored in English and translated when shown (templates: {% translate %}).
IN_FLIGHT_REASON = gettext_noop(
    "The worker stopped while it was handing this message to the network: it may or may not "
    "have been sent. It is not sent again on its own; check with the recipient, then retry if "
    "needed."
)
GATEWAY_BROKE = gettext_noop("The gateway failed while sending: it may or may not have been sent.")


# --- the declaration ------------------------------------------------------------------------


class Queue(enum.Enum):
    """What a transition does to the message's row in the worker's queue."""

    KEEP = "keep"
    ADD = "add"  # it waits from now on: its row is written (or its due time updated)
    REMOVE = "remove"  # it no longer waits: its row goes


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]  # () for a new message; the usual source first
    target: str
    counters: tuple[str, ...] = ()  # stats.Event; `reported` counts on the day it was sent
    queue: Queue = Queue.KEEP
    event: str = "message.status"  # for webhooks (the subscribers)


NEW = ()
QUEUE_NEW = Transition("queue_new", NEW, S.QUEUED, queue=Queue.ADD)
SCHEDULE_NEW = Transition("schedule_new", NEW, S.SCHEDULED, queue=Queue.ADD)
BLOCK_NEW = Transition("block_new", NEW, S.BLOCKED, (E.BLOCKED,))
RECEIVE = Transition("receive", NEW, S.UNREAD, (E.RECEIVED,), event="message.received")
CLAIM = Transition("claim", CLAIMABLE, S.SENDING, queue=Queue.REMOVE)
BLOCK = Transition("block", CLAIMABLE, S.BLOCKED, (E.BLOCKED,), Queue.REMOVE)
BLOCK_AT_HANDOVER = Transition("block_at_handover", (S.SENDING,), S.BLOCKED, (E.BLOCKED,))
CANCEL = Transition("cancel", CLAIMABLE, S.CANCELLED, queue=Queue.REMOVE)
SEND = Transition("send", (S.SENDING, S.UNKNOWN), S.SENT, (E.SENT,))
RETRY_LATER = Transition("retry_later", (S.SENDING,), S.QUEUED, queue=Queue.ADD)
RELEASE = Transition("release", (S.SENDING,), S.QUEUED, queue=Queue.ADD)
REFUSE = Transition("refuse", (S.SENDING,), S.FAILED, (E.FAILED,))
LOSE = Transition("lose", (S.SENDING,), S.UNKNOWN, (E.UNKNOWN,))
DELIVER = Transition("deliver", (S.SENT, S.UNKNOWN), S.DELIVERED, (E.DELIVERED, E.REPORTED))
FAIL_REPORTED = Transition("fail_reported", (S.SENT, S.UNKNOWN), S.FAILED, (E.FAILED, E.REPORTED))
RETRY = Transition("retry", (S.FAILED, S.UNKNOWN), S.QUEUED, queue=Queue.ADD)
# A user puts back what was cancelled: queued (its time has come) or scheduled (still ahead).
REQUEUE = Transition("requeue", (S.CANCELLED,), S.QUEUED, queue=Queue.ADD)
RESCHEDULE = Transition("reschedule", (S.CANCELLED,), S.SCHEDULED, queue=Queue.ADD)
READ = Transition("read", (S.UNREAD,), S.READ)

TRANSITIONS: tuple[Transition, ...] = (
    QUEUE_NEW,
    SCHEDULE_NEW,
    BLOCK_NEW,
    RECEIVE,
    CLAIM,
    BLOCK,
    BLOCK_AT_HANDOVER,
    CANCEL,
    SEND,
    RETRY_LATER,
    RELEASE,
    REFUSE,
    LOSE,
    DELIVER,
    FAIL_REPORTED,
    RETRY,
    REQUEUE,
    RESCHEDULE,
    READ,
)


class Change(NamedTuple):
    message_id: int
    old: str | None  # None: the message is new
    new: str
    transition: Transition


# A campaign is finished when none of its messages waits or awaits its delivery report: each
# is delivered, failed, blocked, unknown (the worker gives up on it) or cancelled.
FINAL_BUCKETS = frozenset({"delivered", "failed", "blocked", "unknown", "cancelled"})
# Called inside the transaction that finished them with the ids of campaigns that just
# finished, once per campaign ever (`Campaign.finished_at`), and the time (the webhooks'
# campaign.finished).
CampaignSubscriber = Callable[[Sequence[int], datetime], None]
campaign_subscribers: list[CampaignSubscriber] = []

Subscriber = Callable[[Sequence[Change]], None]
# Called inside the transaction of every status change with its batch of changes (the
# webhooks' outbox is one: webhooks/events.py). A subscriber may say which transitions it
# wants with a `wants(transition) -> bool` attribute (the webhooks': only those that emit an
# event some endpoint listens to); the fast paths skip collecting the changes nobody wants.
subscribers: list[Subscriber] = []


def listening(*transitions: Transition) -> bool:
    """Whether some subscriber wants the changes of one of `transitions`."""
    for subscriber in subscribers:
        wants = getattr(subscriber, "wants", None)
        if wants is None or any(wants(t) for t in transitions):
            return True
    return False


# --- counting what moved ------------------------------------------------------------------

# RETURNING id, campaign_id, gateway_id, sent_at, author_id, segments, organisation_id
Moved = tuple[Any, ...]
RETURNING = "id, campaign_id, gateway_id, sent_at, author_id, segments, organisation_id"
N_MOVED = 7  # the columns of RETURNING (unqualified: SQLite); `also` columns come after


@dataclass
class _Tally:
    """What a call moved: written once at its end (day counters, campaign counts, changes)."""

    now: datetime
    # (organisation, day, gateway, tag, user, event) -> [messages, parts]: summed here, one
    # row each
    day_counts: dict[stats.Key, list[int]] = field(default_factory=lambda: defaultdict(_pair))
    campaigns: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    changes: list[Change] = field(default_factory=list)
    _days: dict[object, Any] = field(default_factory=dict)  # sent_at -> its local day

    def _day_of(self, sent_at: datetime | str) -> Any:
        # the messages of a batch share their sent_at: each converted once
        day = self._days.get(sent_at)
        if day is None:
            day = self._days[sent_at] = stats.local_day(_aware(sent_at))
        return day

    def moved(self, t: Transition, rows: Iterable[Moved], *, old: str | None) -> None:
        old_bucket = BUCKET_OF.get(old) if old else None
        new_bucket = BUCKET_OF.get(t.target)
        per_campaign = old_bucket != new_bucket
        wanted = listening(t)
        # The rows of a batch share their gateway, campaign, author and sent_at nearly
        # always: grouped first, each group's counter keys are built once.
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(_pair)
        campaigns = self.campaigns
        for message_id, campaign_id, gateway, sent_at, author_id, segments, org in rows:
            group = groups[(org, gateway, campaign_id, author_id, sent_at)]
            group[0] += 1
            group[1] += segments or 1
            if campaign_id is not None and per_campaign:
                if old_bucket:
                    campaigns[(campaign_id, old_bucket)] -= 1
                if new_bucket:
                    campaigns[(campaign_id, new_bucket)] += 1
            if wanted:
                self.changes.append(Change(message_id, old, t.target, t))
        if not t.counters:
            return
        today = stats.local_day(self.now)
        counts = self.day_counts
        tags = tags_of({key[2] for key in groups})
        for (org, gateway, campaign_id, author_id, sent_at), (n, parts) in groups.items():
            who = (tags.get(campaign_id, ""), author_id or 0)
            for event in t.counters:
                if event == E.REPORTED:
                    if sent_at is None:
                        continue
                    key = (org, self._day_of(sent_at), gateway or "", *who, event)
                else:  # blocked is not per gateway (it never reached one)
                    key = (org, today, "" if event == E.BLOCKED else gateway or "", *who, event)
                total = counts[key]
                total[0] += n
                total[1] += parts

    def created(
        self,
        t: Transition,
        n: int,
        *,
        campaign_id: int,
        tag: str,
        user_id: int | None,
        parts: int,
        org: int,
    ) -> None:
        """`n` new messages (`parts` SMS parts) of a campaign of organisation `org` took `t`
        (no change listened to: not one by one)."""
        if not n:
            return
        day = stats.local_day(self.now)
        for event in t.counters:
            total = self.day_counts[(org, day, "", tag, user_id or 0, event)]
            total[0] += n
            total[1] += parts
        self.campaigns[(campaign_id, BUCKET_OF[t.target])] += n

    def write(self) -> None:
        stats.add((*key, n, parts) for key, (n, parts) in self.day_counts.items())
        add_campaign_deltas((cid, bucket, n) for (cid, bucket), n in self.campaigns.items())
        finals = {
            c for (c, bucket), n in self.campaigns.items() if n > 0 and bucket in FINAL_BUCKETS
        }
        if self.changes:
            for subscriber in subscribers:
                subscriber(self.changes)
        settle_campaigns(finals, now=self.now)
        self.changes = []
        self.day_counts, self.campaigns = defaultdict(_pair), defaultdict(int)


def _tell(changes: Sequence[Change]) -> None:
    if changes:
        for subscriber in subscribers:
            subscriber(changes)


def _pair() -> list[int]:
    return [0, 0]


def tags_of(campaign_ids: Iterable[int | None]) -> dict[int, str]:
    """The tag of each campaign ("" for none), for the counters' key: one query over the
    campaign table by primary key (a batch of the worker names a campaign or two). Not kept
    between calls: on SQLite the id of a campaign whose transaction rolled back is given
    again to the next one."""
    ids = sorted({i for i in campaign_ids if i})
    found: dict[int, str] = {}
    for chunk in chunks(ids, IDS_PER_STATEMENT):
        # by id, from rows already read: whichever organisation they belong to
        found.update(Campaign.objects.across_orgs().filter(id__in=chunk).values_list("id", "tag"))
    return found


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite: the UTC text the ORM stored
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def add_campaign_deltas(rows: Iterable[tuple[int, str, int]]) -> None:
    """Append changes of campaigns' counts (campaign id, bucket, change), in one INSERT."""
    rows = [r for r in rows if r[2]]
    if not rows:
        return
    with connection.cursor() as cursor:
        for chunk in chunks(rows, 500):
            cursor.execute(
                f"INSERT INTO {CAMPAIGN_DELTAS} (campaign_id, bucket, count) VALUES "
                + ", ".join(["(%s, %s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )


def _campaign_delta_sql(t: Transition, cte: str, old: str) -> str:
    """The INSERT of campaign count changes for the rows of `cte` (id, campaign_id, ...),
    which took `t` from `old` (a CTE of the statement: no round trip of its own)."""
    old_bucket, new_bucket = BUCKET_OF.get(old), BUCKET_OF.get(t.target)
    if old_bucket == new_bucket or new_bucket is None:
        return ""
    signs = f"SELECT '{new_bucket}' AS bucket, 1 AS sign"
    if old_bucket:
        signs += f" UNION ALL SELECT '{old_bucket}', -1"
    return (
        f"INSERT INTO {CAMPAIGN_DELTAS} (campaign_id, bucket, count) "
        f"SELECT c.campaign_id, b.bucket, c.n * b.sign FROM (SELECT campaign_id, count(*) AS n "
        f"FROM {cte} WHERE campaign_id IS NOT NULL GROUP BY campaign_id) c "
        f"CROSS JOIN ({signs}) b RETURNING 1"
    )


# --- the generic move ------------------------------------------------------------------------


def _move(
    cursor: Cursor,
    tally: _Tally,
    t: Transition,
    *,
    ids: Sequence[int] | None = None,
    within: QuerySet[Message] | None = None,
    values: tuple[Sequence[tuple[str, str]], Sequence[tuple[Any, ...]]] | None = None,
    set_sql: str = "",
    set_params: Sequence[object] = (),
    sources: Sequence[str] | None = None,
    also: str = "",
    where: str = "",
    queue_done: bool = False,
) -> list[tuple[Any, ...]]:
    """Move to `t.target` the messages named by `ids`, by a queryset (`within`), or by rows
    of `values` ((columns, rows), a column `vid` naming the message; `set_sql` may read
    `v.<column>`), that are in one of `t`'s sources, each source in turn; then apply `t`'s
    queue effect. Returns the rows moved: RETURNING's columns (id, campaign_id, gateway_id,
    sent_at, author_id, segments), then those `also` names. `where`: a further SQL condition
    on the message (ids mode);
    `queue_done`: the caller has made the queue effect already (the claim's DELETE)."""
    now = db_time(tally.now)
    set_all = f"status = '{t.target}', status_at = %s" + (f", {set_sql}" if set_sql else "")
    params: list[object] = [now, *set_params]
    returning = f"{RETURNING}, {also}" if also else RETURNING
    moved: list[tuple[Any, ...]] = []
    remaining = None if ids is None else list(ids)
    for source in sources if sources is not None else t.sources:
        rows: list[Moved] = []
        if values is not None:
            columns, value_rows = values
            rows = update_from_values(
                cursor,
                value_rows,
                table=TABLE,
                columns=columns,
                set_sql=set_all,
                set_params=params,
                where_sql=f"m.id = v.vid AND m.status = '{source}'",
                returning=returning,
            )
        elif within is not None:
            query, query_params = within.filter(status=source).values("id").query.sql_with_params()
            cursor.execute(
                f"UPDATE {TABLE} SET {set_all} WHERE status = %s AND id IN ({query}) "
                f"RETURNING {returning}",
                [*params, source, *query_params],
            )
            rows = cursor.fetchall()
        else:
            assert remaining is not None
            for chunk in chunks(remaining, IDS_PER_STATEMENT):
                cursor.execute(
                    f"UPDATE {TABLE} SET {set_all} WHERE id IN ({marks(len(chunk))}) "
                    f"AND status = %s {f'AND {where} ' if where else ''}RETURNING {returning}",
                    [*params, *chunk, source],
                )
                rows.extend(cursor.fetchall())
        tally.moved(t, (r[:N_MOVED] for r in rows), old=source)
        moved.extend(rows)
        if remaining is not None:
            if len(rows) == len(remaining):
                break
            done = {r[0] for r in rows}
            remaining = [i for i in remaining if i not in done]
        elif values is not None:
            if len(rows) == len(values[1]):
                break
            done = {r[0] for r in rows}
            values = (values[0], [v for v in values[1] if v[-1] not in done])
    if not queue_done:
        _queue_effect(cursor, t, [r[0] for r in moved])
    return moved


def _queue_effect(cursor: Cursor, t: Transition, message_ids: Sequence[int]) -> None:
    if not message_ids:
        return
    if t.queue is Queue.ADD:
        for chunk in chunks(message_ids, IDS_PER_STATEMENT):
            cursor.execute(
                f"INSERT INTO {QUEUE} (message_id, gateway_id, due_at, created_at) "
                f"SELECT id, gateway_id, COALESCE(due_at, created_at), created_at FROM {TABLE} "
                f"WHERE id IN ({marks(len(chunk))}) AND gateway_id IS NOT NULL "
                f"ON CONFLICT (message_id) DO UPDATE SET due_at = excluded.due_at",
                list(chunk),
            )
    elif t.queue is Queue.REMOVE:
        for chunk in chunks(message_ids, IDS_PER_STATEMENT):
            cursor.execute(
                f"DELETE FROM {QUEUE} WHERE message_id IN ({marks(len(chunk))})", list(chunk)
            )


def move(
    t: Transition,
    *,
    ids: Sequence[int] | None = None,
    within: QuerySet[Message] | None = None,
    now: datetime | None = None,
    **fields: object,
) -> list[int]:
    """Move messages (by id, or those of a queryset) along `t`, setting `fields` too (plain
    values: error, due_at, cancelled_by...). The entry point of the actions of users and of
    the STOP rule; the worker's paths below are its fast forms."""
    tally = _Tally(now or timezone.now())
    set_sql, set_params = _set_fields(fields)
    with transaction.atomic(), connection.cursor() as cursor:
        moved = _move(
            cursor, tally, t, ids=ids, within=within, set_sql=set_sql, set_params=set_params
        )
        tally.write()
    return [r[0] for r in moved]


def _set_fields(fields: dict[str, object]) -> tuple[str, list[object]]:
    parts, params = [], []
    for name, value in fields.items():
        f = Message._meta.get_field(name)
        column = f.column  # type: ignore[union-attr]
        if hasattr(value, "pk"):
            value = value.pk
        elif isinstance(value, datetime):
            value = db_time(value)
        parts.append(f"{column} = %s")
        params.append(value)
    return ", ".join(parts), params


# --- new messages ------------------------------------------------------------------------------


def create_campaign_messages(
    prototype: Message,
    varying: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    blocked: set[str],
    scheduled: bool,
) -> dict[str, tuple[int, str, str]] | None:
    """Write a campaign's messages, one per row (its first column the number, then the
    other `varying` fields of `prototype`): `blocked` (the STOP list's numbers) never sent,
    the others queued or scheduled with their queue rows, in one statement each (COPY on
    PostgreSQL, core/bulk.py) whatever the size.

    Returns, for a few rows (core/bulk.SMALL), each number's (id, status, error) as written
    (the API's answer, without reading them back); None for more."""
    waiting = SCHEDULE_NEW if scheduled else QUEUE_NEW
    campaign_id = prototype.campaign_id
    assert campaign_id is not None
    statuses = [
        (row[0], BLOCK_NEW.target, BLOCKED_REASON)
        if row[0] in blocked
        else (row[0], waiting.target, "")
        for row in rows
    ]
    written = insert_rows(
        Message,
        prototype,
        ["peer", "status", "error", *varying[1:]],
        [(*s, *row[1:]) for s, row in zip(statuses, rows, strict=True)],
        returning=("id", "peer", "status", "error"),
    )
    tally = _Tally(prototype.created_at)
    n_blocked = sum(1 for row in rows if row[0] in blocked)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {QUEUE} (message_id, gateway_id, due_at, created_at) "
            f"SELECT id, gateway_id, COALESCE(due_at, created_at), created_at FROM {TABLE} "
            f"WHERE campaign_id = %s AND status = %s AND gateway_id IS NOT NULL "
            f"ON CONFLICT (message_id) DO NOTHING",
            [campaign_id, waiting.target],
        )
        # each message's id: read only for a subscriber (blocked ones: only if there are)
        if listening(waiting) or (n_blocked and listening(BLOCK_NEW)):
            cursor.execute(
                f"SELECT {RETURNING}, status FROM {TABLE} WHERE campaign_id = %s", [campaign_id]
            )
            for row in cursor.fetchall():
                t = BLOCK_NEW if row[N_MOVED] == S.BLOCKED else waiting
                tally.moved(t, [row[:N_MOVED]], old=None)
        else:
            if "segments" in varying:
                at = varying.index("segments")
                parts_blocked = sum(int(row[at]) for row in rows if row[0] in blocked)
            else:
                parts_blocked = n_blocked * prototype.segments
            tally.created(
                BLOCK_NEW,
                n_blocked,
                campaign_id=campaign_id,
                tag=_campaign_tag(prototype, campaign_id),
                user_id=prototype.author_id,
                parts=parts_blocked,
                org=prototype.organisation_id,
            )
            tally.created(
                waiting,
                len(rows) - n_blocked,
                campaign_id=campaign_id,
                tag="",
                user_id=None,
                parts=0,
                org=prototype.organisation_id,
            )
    tally.write()
    if written is None:
        return None
    return {peer: (pk, status, error) for pk, peer, status, error in written}


def _campaign_tag(prototype: Message, campaign_id: int) -> str:
    """The tag of the campaign of `prototype`: the instance's when the caller just saved it
    (no need to read it again), else read."""
    if Message.campaign.is_cached(prototype) and prototype.campaign is not None:
        return prototype.campaign.tag
    return tags_of([campaign_id]).get(campaign_id, "")


def create_outbound(message: Message) -> Message:
    """Save one outbound message (an automatic reply), queued with its queue row."""
    message.status = QUEUE_NEW.target
    message.save(force_insert=True)
    tally = _Tally(message.created_at)
    tally.moved(QUEUE_NEW, [_moved_row(message)], old=None)
    with connection.cursor() as cursor:
        _queue_effect(cursor, QUEUE_NEW, [message.pk])
    tally.write()
    return message


def create_inbound(message: Message) -> Message:
    """Save one received message, unread (with its row in the Unread list)."""
    message.status = RECEIVE.target
    message.save(force_insert=True)
    UnreadEntry.objects.create(
        message=message, created_at=message.created_at, organisation_id=message.organisation_id
    )
    tally = _Tally(message.created_at)
    tally.moved(RECEIVE, [_moved_row(message)], old=None)
    tally.write()
    return message


def _moved_row(m: Message) -> Moved:
    return (
        m.pk,
        m.campaign_id,
        m.gateway_id,
        m.sent_at,
        m.author_id,
        m.segments,
        m.organisation_id,
    )


# --- the worker: claiming ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    sms: OutboundSMS
    attempts: int
    peer: str = ""
    segments: int = 1  # its SMS parts: what a line's volume limits count


def claim(*, gateway: str, worker_id: str, limit: int, now: datetime) -> list[Claimed]:
    """Move up to `limit` due messages of `gateway` to `sending`, for us; oldest first. (The
    STOP list is checked by the worker just before the hand-over: `block_at_handover`.)
    Nothing is claimed on the line of a suspended organisation: its messages wait, as they
    are, until it is resumed (`lines.held_lines`)."""
    from smsdesk.messaging import lines

    if gateway in lines.held_lines():
        return []
    set_clause = "claimed_by = %s, attempts = attempts + 1"
    returning = "id, peer, body, attempts, segments, flash"  # unqualified: SQLite
    sources = ", ".join(f"'{s}'" for s in CLAIM.sources)
    # A line shared with a suspended organisation: that organisation's messages wait (only
    # then: the usual claim reads the queue alone). Ids are ours, whole numbers.
    held = lines.held_organisations(gateway)
    not_held = (
        f"AND message_id NOT IN (SELECT id FROM {TABLE} WHERE organisation_id IN "
        f"({', '.join(str(int(o)) for o in held)})) "
        if held
        else ""
    )
    pick = (
        f"SELECT message_id{{created}} FROM {QUEUE} WHERE gateway_id = %s AND due_at <= %s "
        f"{not_held}ORDER BY due_at, message_id LIMIT %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if is_pg() and not listening(CLAIM):
            # MATERIALIZED so that the LIMIT applies once: with a plain
            # `id IN (SELECT ... LIMIT n SKIP LOCKED)` the planner may run the subquery again
            # per row and claim far more than n rows (seen here: 2,000 for a limit of 20).
            rows = pg_bound(
                f"WITH picked AS MATERIALIZED ({pick.format(created=', created_at')} "
                f"FOR UPDATE SKIP LOCKED), "
                f"gone AS (DELETE FROM {QUEUE} q USING picked "
                f"WHERE q.message_id = picked.message_id RETURNING q.message_id) "
                # No join with `gone`: the planner cannot know its size and joined it
                # row by row (500 x 500 comparisons); the array is read by primary key.
                f"UPDATE {TABLE} m SET status = '{CLAIM.target}', status_at = %s, "
                f"claimed_by = %s, attempts = m.attempts + 1 "
                f"WHERE m.id = ANY(ARRAY(SELECT message_id FROM gone)) "
                # The month table: only the months of the messages taken are read (run-time
                # pruning on the oldest of their created_at; a row without it: every month).
                f"AND m.created_at >= (SELECT CASE WHEN bool_and(created_at IS NOT NULL) "
                f"THEN min(created_at) ELSE '-infinity' END FROM picked) "
                f"AND m.status IN ({sources}) RETURNING {returning}",
                [gateway, now, limit, now, worker_id],
            )
            # claimable -> sending: a campaign's count does not change, no counter moves
        else:
            # SQLite runs one writer at a time (BEGIN IMMEDIATE): the DELETE is the claim.
            lock = " FOR UPDATE SKIP LOCKED" if is_pg() else ""
            cursor.execute(
                f"DELETE FROM {QUEUE} WHERE message_id IN ({pick.format(created='')}{lock}) "
                "RETURNING message_id",
                [gateway, db_time(now), limit],
            )
            ids = [r[0] for r in cursor.fetchall()]
            tally = _Tally(now)
            moved = _move(
                cursor,
                tally,
                CLAIM,
                ids=ids,
                set_sql=set_clause,
                set_params=[worker_id],
                also="peer, body, attempts, segments, flash",
                queue_done=True,
            )
            tally.write()
            rows = [(r[0], *r[N_MOVED:]) for r in moved]
    rows.sort()  # RETURNING gives no order; send oldest first
    return [
        Claimed(OutboundSMS(id=r[0], to=r[1], text=r[2], flash=bool(r[5])), r[3], r[1], r[4] or 1)
        for r in rows
    ]


# --- routing: a waiting message changes line -------------------------------------------------


def reroute(
    *, line: str, to: str, now: datetime, limit: int = 10_000, organisation: int | None = None
) -> list[int]:
    """Move up to `limit` waiting messages of `line` due by `now` to the line `to` (the
    failover of messaging/routing.py), only `organisation`'s when given (a line shared by
    several: each one's messages go to a line of its own). Not a status change (a queued
    message stays queued): only messages that have their queue row move, so one a worker
    claimed (`sending`), or that may have been handed over (`unknown`), never does. The
    queue row is moved first, locked, and the message follows only if it is still claimable;
    a claim running at the same time has either taken the row (it is not moved) or skips it
    (PostgreSQL's SKIP LOCKED; SQLite runs one writer at a time)."""
    claimable = ", ".join(f"'{s}'" for s in CLAIMABLE)
    lock = " FOR UPDATE SKIP LOCKED" if is_pg() else ""
    whose, whose_args = "", []
    if organisation is not None:
        # each queue row's message by its key (never the organisation's every message)
        whose = (
            f" AND EXISTS (SELECT 1 FROM {TABLE} m WHERE m.id = q.message_id"
            " AND m.organisation_id = %s)"
        )
        whose_args = [organisation]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {QUEUE} SET gateway_id = %s WHERE message_id IN (SELECT q.message_id FROM "
            f"{QUEUE} q WHERE q.gateway_id = %s AND q.due_at <= %s{whose} "
            f"ORDER BY q.due_at, q.message_id LIMIT %s{lock}) RETURNING message_id",
            [to, line, db_time(now), *whose_args, limit],
        )
        ids = [r[0] for r in cursor.fetchall()]
        moved: list[int] = []
        for chunk in chunks(ids, IDS_PER_STATEMENT):
            cursor.execute(
                f"UPDATE {TABLE} SET gateway_id = %s WHERE id IN ({marks(len(chunk))}) "
                f"AND status IN ({claimable}) RETURNING id",
                [to, *chunk],
            )
            moved.extend(r[0] for r in cursor.fetchall())
        stray = sorted(set(ids) - set(moved))
        if stray:  # a queue row whose message is not waiting: never moved, left as it was
            for chunk in chunks(stray, IDS_PER_STATEMENT):
                cursor.execute(
                    f"UPDATE {QUEUE} SET gateway_id = %s WHERE message_id IN ({marks(len(chunk))})",
                    [line, *chunk],
                )
    return sorted(moved)


# --- the worker: results -------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: 30 s, 1 min, 2 min, ... at most 1 h."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def release(message_ids: Sequence[int], *, reason: str, now: datetime) -> int:
    """Nothing of these left us (the gateway was unreachable): back to `queued`, the try
    given back, due at once."""
    if not message_ids:
        return 0
    tally = _Tally(now)
    with transaction.atomic(), connection.cursor() as cursor:
        moved = _move(
            cursor,
            tally,
            RELEASE,
            ids=message_ids,
            set_sql="claimed_by = '', error = %s, due_at = %s, "
            "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END",
            set_params=[reason[:255], db_time(now)],
        )
        tally.write()
    return len(moved)


@dataclass(frozen=True, slots=True)
class Recorded:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    unknown: int = 0


def record_results(
    results: Sequence[SendResult],
    *,
    attempts: dict[int, int],
    now: datetime,
    gateway: str | None = None,
    then: Callable[[Cursor], object] | None = None,
) -> Recorded:
    """Store what the `gateway` said of each claimed message (of that gateway), in one
    transaction. `then(cursor)`, when given, runs last in that same transaction (the worker
    writes the delivery reports that came meanwhile with the results: one commit for both).

    A result for a message that another worker meanwhile marked `unknown` (ours looked dead
    while the database was away) still counts: we know better (`SEND` leaves `unknown` too).
    """
    max_attempts = settings.SMSDESK_MAX_ATTEMPTS
    sent: list[tuple[str, int]] = []
    parts: list[tuple[int, int, int, str]] = []
    retry: list[tuple[str, object, int]] = []
    failed: list[tuple[str, int]] = []
    released: list[int] = []
    unknown: list[tuple[str, int]] = []
    for r in results:
        if r.outcome is Outcome.ACCEPTED:
            sent.append((r.reference[:64], r.message_id))
            parts.extend(_parts_of(r))
        elif r.outcome is Outcome.REFUSED:
            tries = attempts.get(r.message_id, max_attempts)
            if not r.permanent and tries < max_attempts:
                retry.append((r.error[:255], db_time(now + retry_delay(tries)), r.message_id))
            else:
                failed.append((r.error[:255], r.message_id))
        elif r.outcome is Outcome.NOT_HANDED_OVER:
            released.append(r.message_id)
        else:
            unknown.append((r.error[:255] or GATEWAY_BROKE, r.message_id))
            parts.extend(_parts_of(r))
    if results and gateway is None:
        gateway = (
            Message.objects.across_orgs()  # the worker: a line's messages, whoever's
            .filter(id=results[0].message_id)
            .values_list("gateway_id", flat=True)
            .first()
        ) or ""
    gateway = gateway or ""
    tally = _Tally(now)
    sent_sql = "gateway_ref = v.ref, sent_at = %s, claimed_by = '', error = ''"
    n_sent = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if is_pg() and sent:
            # One round trip for the messages, their parts and both counters (and, when a
            # webhook listens, the ids moved: their events are written from them in bulk).
            told = listening(SEND)
            usual = SEND.sources[0]
            campaign_sql = _campaign_delta_sql(SEND, "sent", usual)
            moved = pg_bound(
                f"WITH v(ref, vid) AS (SELECT * FROM unnest(%s::text[], %s::bigint[])), "
                f"sent AS (UPDATE {TABLE} AS m SET status = '{SEND.target}', status_at = %s, "
                f"{sent_sql} FROM v WHERE m.id = v.vid AND m.status = '{usual}' "
                f"AND m.id = ANY(ARRAY(SELECT vid FROM v)) "
                f"RETURNING m.id, m.campaign_id, m.author_id, m.segments, m.organisation_id), "
                f"parts AS ({_PARTS_INSERT_PG} RETURNING 1), "
                f"counted AS (INSERT INTO {DELTAS} ({stats.COLUMNS}) "
                f"SELECT s.organisation_id, %s, %s, COALESCE(c.tag, ''), "
                f"COALESCE(s.author_id, 0), '{E.SENT}', "
                f"count(*), sum(s.segments) FROM sent s LEFT JOIN {CAMPAIGNS} c "
                f"ON c.id = s.campaign_id GROUP BY s.organisation_id, c.tag, s.author_id "
                f"RETURNING 1)"
                + (f", campaigns AS ({campaign_sql})" if campaign_sql else "")
                + (" SELECT id FROM sent" if told else " SELECT count(*) FROM sent"),
                [
                    *map(list, zip(*sent, strict=True)),
                    now,
                    now,
                    gateway,
                    *map(list, zip(*parts, strict=True)),
                    stats.local_day(now),
                    gateway,
                ],
            )
            if told:
                n_sent = len(moved)
                tally.changes += [Change(row[0], usual, SEND.target, SEND) for row in moved]
            else:
                [(n_sent,)] = moved
            parts = []  # all written above
            if n_sent < len(sent):  # some were `unknown` (a worker thought us dead)
                n_sent += len(
                    _move(
                        cursor,
                        tally,
                        SEND,
                        values=((("ref", "text"), ("vid", "bigint")), sent),
                        set_sql=sent_sql,
                        set_params=[now],
                        sources=SEND.sources[1:],
                    )
                )
        elif sent:
            n_sent = len(
                _move(
                    cursor,
                    tally,
                    SEND,
                    values=((("ref", "text"), ("vid", "bigint")), sent),
                    set_sql=sent_sql,
                    set_params=[db_time(now)],
                )
            )
        _insert_parts(cursor, parts, gateway)
        n_retry = _move(
            cursor,
            tally,
            RETRY_LATER,
            values=((("error", "text"), ("due", "timestamptz"), ("vid", "bigint")), retry),
            set_sql="error = v.error, due_at = v.due, claimed_by = ''",
        )
        n_failed = _move(
            cursor,
            tally,
            REFUSE,
            values=((("error", "text"), ("vid", "bigint")), failed),
            set_sql="error = v.error, claimed_by = ''",
        )
        n_unknown = _move(
            cursor,
            tally,
            LOSE,
            values=((("error", "text"), ("vid", "bigint")), unknown),
            set_sql="error = v.error, claimed_by = ''",
        )
        tally.write()
        if then is not None:
            then(cursor)
    n_released = 0
    if released:
        reason = next(r.error for r in results if r.outcome is Outcome.NOT_HANDED_OVER)
        n_released = release(released, reason=reason, now=now)
    return Recorded(n_sent, len(n_retry), len(n_failed), n_released, len(n_unknown))


def _parts_of(result: SendResult) -> list[tuple[int, int, int, str]]:
    total = len(result.references)
    return [
        (result.message_id, seq, total, ref[:64]) for seq, ref in enumerate(result.references, 1)
    ]


# Written again after a lost commit acknowledgement (same references), or when a user
# retried the message (new references): the last hand-over's part is the one to match.
_PARTS_CONFLICT = (
    "ON CONFLICT (message_id, seq) DO UPDATE SET reference = excluded.reference, "
    f"total = excluded.total, gateway_id = excluded.gateway_id, state = '{P.SENT}', "
    f"detail = '', reported_at = NULL WHERE {PARTS}.reference <> excluded.reference"
)
_PARTS_COLUMNS = (
    f"INSERT INTO {PARTS} (message_id, seq, total, gateway_id, reference, state, detail) "
)
# The gateway is given (all the messages of a batch share theirs): joining the message
# table for it made PostgreSQL read the whole table for each batch.
_PARTS_SELECT = f"SELECT p.id, p.seq, p.total, %s, p.ref, '{P.SENT}', '' FROM p WHERE true "
_PARTS_FROM_ARRAYS = (
    "FROM (SELECT * FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::text[])) "
    "AS p(id, seq, total, ref) "
)
_PARTS_INSERT_PG = (
    f"{_PARTS_COLUMNS}{_PARTS_SELECT.replace('FROM p ', _PARTS_FROM_ARRAYS)}{_PARTS_CONFLICT}"
)


def _insert_parts(cursor: Cursor, parts: Sequence[tuple[int, int, int, str]], gateway: str) -> None:
    """Store each part handed over (message id, seq, total, reference) by `gateway`."""
    if not parts:
        return
    if is_pg():
        cursor.execute(
            _PARTS_INSERT_PG, [gateway, *(list(col) for col in zip(*parts, strict=True))]
        )
        return
    for chunk in chunks(parts, SQLITE_ROWS_PER_STATEMENT):
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        cursor.execute(
            f"WITH p(id, seq, total, ref) AS (VALUES {values}) "
            f"{_PARTS_COLUMNS}{_PARTS_SELECT}{_PARTS_CONFLICT}",
            [*(value for row in chunk for value in row), gateway],
        )


def record_unknown(message_ids: Iterable[int], *, reason: str, now: datetime) -> int:
    """The gateway broke while it had these: they may or may not have gone out."""
    tally = _Tally(now)
    with transaction.atomic(), connection.cursor() as cursor:
        moved = _move(
            cursor,
            tally,
            LOSE,
            ids=list(message_ids),
            set_sql="error = %s, claimed_by = ''",
            set_params=[reason[:255]],
        )
        tally.write()
    return len(moved)


def recover_in_flight(*, live_workers: Iterable[str], now: datetime) -> int:
    """Messages left `sending` by a worker that is gone become `unknown`, never resent."""
    live = list(live_workers)
    # the worker's recovery: every organisation's messages
    within = Message.objects.across_orgs().filter(status=S.SENDING).exclude(claimed_by__in=live)
    tally = _Tally(now)
    with transaction.atomic(), connection.cursor() as cursor:
        moved = _move(
            cursor,
            tally,
            LOSE,
            within=within,
            set_sql="error = %s, claimed_by = ''",
            set_params=[IN_FLIGHT_REASON[:255]],
        )
        tally.write()
    return len(moved)


# --- delivery reports ---------------------------------------------------------------------


def apply_reports(
    cursor: Cursor,
    reports: Sequence[StatusReport],
    *,
    now: datetime | None,
) -> list[tuple[Any, ...]]:
    """Apply delivery reports to the parts they name, and settle the parts' messages: a
    message is `delivered` when every part is, `failed` when one part failed (a part still on
    its way leaves it as it is). Returns the parts hit: (message id, gateway, reference,
    total). Reports of unknown parts are the caller's (outbox.record_reports)."""
    at = now or timezone.now()
    tally = _Tally(at)
    state_of = {DeliveryState.DELIVERED: P.DELIVERED, DeliveryState.FAILED: P.FAILED}
    returning = "message_id, gateway_id, reference, total"
    if is_pg():
        # One round trip: the parts, the messages of one part (nearly all of them), and
        # their counters (and, when a webhook listens, the ids settled, for their events).
        told = listening(DELIVER, FAIL_REPORTED)
        rows: list[tuple[Any, ...]] = [
            (r.gateway, r.reference[:64], state_of[r.state], r.detail[:255], r.at) for r in reports
        ]
        usual = DELIVER.sources[0]
        settled = "RETURNING msg.id, msg.campaign_id, COALESCE(msg.gateway_id, '') AS gateway, "
        settled += f"msg.sent_at, COALESCE((SELECT c.tag FROM {CAMPAIGNS} c "
        settled += "WHERE c.id = msg.campaign_id), '') AS cid, "
        settled += "COALESCE(msg.author_id, 0) AS uid, msg.segments, msg.organisation_id AS org"
        extra = "".join(
            f", {name}_campaigns AS ({sql})"
            for name, t in (("delivered", DELIVER), ("failed", FAIL_REPORTED))
            if (sql := _campaign_delta_sql(t, name, usual))
        )
        hits = pg_bound(
            f"WITH v(gateway, ref, state, detail, at) AS (SELECT * FROM unnest(%s::text[], "
            f"%s::text[], %s::text[], %s::text[], %s::timestamptz[])), "
            f"t AS MATERIALIZED (SELECT v.state, v.detail, v.at, (SELECT max(p2.id) "
            f"FROM {PARTS} p2 WHERE p2.gateway_id = v.gateway AND p2.reference = v.ref "
            f"AND p2.state = '{P.SENT}') AS part_id FROM v), "
            f"hit AS (UPDATE {PARTS} AS m SET state = t.state, detail = t.detail, "
            f"reported_at = t.at FROM t WHERE m.id = t.part_id "
            f"AND m.id = ANY(ARRAY(SELECT part_id FROM t WHERE part_id IS NOT NULL)) "
            f"RETURNING m.message_id, m.gateway_id, m.reference, m.total, m.state, m.detail), "
            f"delivered AS (UPDATE {TABLE} AS msg SET status = '{DELIVER.target}', error = '', "
            f"status_at = %s, claimed_by = '' WHERE msg.id = ANY(ARRAY(SELECT message_id "
            f"FROM hit WHERE total = 1 AND state = '{P.DELIVERED}')) AND msg.status = '{usual}' "
            f"{settled}), "
            f"failed AS (UPDATE {TABLE} AS msg SET status = '{FAIL_REPORTED.target}', "
            f"error = (SELECT hit.detail FROM hit WHERE hit.message_id = msg.id LIMIT 1), "
            f"status_at = %s, claimed_by = '' WHERE msg.id = ANY(ARRAY(SELECT message_id "
            f"FROM hit WHERE total = 1 AND state = '{P.FAILED}')) AND msg.status = '{usual}' "
            f"{settled}), "
            f"counted AS (INSERT INTO {DELTAS} ({stats.COLUMNS}) "
            f"SELECT org, %s, gateway, cid, uid, '{E.DELIVERED}', count(*), sum(segments) "
            f"FROM delivered GROUP BY org, gateway, cid, uid "
            f"UNION ALL SELECT org, %s, gateway, cid, uid, '{E.FAILED}', count(*), "
            f"sum(segments) FROM failed GROUP BY org, gateway, cid, uid "
            f"UNION ALL SELECT r.org, (r.sent_at AT TIME ZONE %s)::date, r.gateway, r.cid, "
            f"r.uid, '{E.REPORTED}', count(*), sum(r.segments) "
            f"FROM (SELECT * FROM delivered UNION ALL SELECT * FROM failed) r "
            f"WHERE r.sent_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5 RETURNING 1){extra} "
            f"SELECT {returning}, (SELECT count(*) FROM delivered) + "
            f"(SELECT count(*) FROM failed), (SELECT array_agg(DISTINCT r.campaign_id) FROM "
            f"(SELECT campaign_id FROM delivered UNION ALL SELECT campaign_id FROM failed) r "
            f"WHERE r.campaign_id IS NOT NULL)"
            + (
                ", (SELECT array_agg(id) FROM delivered), (SELECT array_agg(id) FROM failed)"
                if told
                else ""
            )
            + " FROM hit",
            [
                *map(list, zip(*rows, strict=True)),
                at,
                at,
                stats.local_day(at),
                stats.local_day(at),
                settings.TIME_ZONE,
            ],
        )
        single = {h[0] for h in hits if h[3] == 1}
        settled_count = hits[0][4] if hits else 0
        if told and hits:
            # their message.status events before the campaign.finished they may cause
            _tell(
                [Change(i, usual, DELIVER.target, DELIVER) for i in sorted(hits[0][6] or [])]
                + [
                    Change(i, usual, FAIL_REPORTED.target, FAIL_REPORTED)
                    for i in sorted(hits[0][7] or [])
                ]
            )
        settle_campaigns((hits[0][5] or []) if hits else [], now=at)
        # Several parts; or a message of one part not settled from `sent` (it was
        # `unknown`, or is final already): the generic settling, from every other source.
        several = {h[0] for h in hits if h[3] > 1}
        _settle(cursor, tally, sorted(several))
        if settled_count < len(single):
            _settle(cursor, tally, sorted(single), sources=DELIVER.sources[1:])
        hits = [h[:4] for h in hits]
    else:
        times: dict[datetime, object] = {}  # reports of one batch share their time
        rows = [
            (
                r.gateway,
                r.reference[:64],
                state_of[r.state],
                r.detail[:255],
                times[r.at] if r.at in times else times.setdefault(r.at, db_time(r.at)),
            )
            for r in reports
        ]
        # The newest part still waiting with that reference: a modem's references (0-255)
        # come round again, the old part with the same one is long final.
        hits = update_from_values(
            cursor,
            rows,
            table=PARTS,
            columns=(
                ("gateway", "text"),
                ("ref", "text"),
                ("state", "text"),
                ("detail", "text"),
                ("at", "timestamptz"),
            ),
            set_sql="state = v.state, detail = v.detail, reported_at = v.at",
            set_params=(),
            where_sql=(
                f"m.id = (SELECT max(p2.id) FROM {PARTS} p2 WHERE p2.gateway_id = v.gateway "
                f"AND p2.reference = v.ref AND p2.state = '{P.SENT}')"
            ),
            returning=returning,
        )
        _settle(cursor, tally, sorted({h[0] for h in hits}))
    tally.write()
    return hits


def _settle(
    cursor: Cursor,
    tally: _Tally,
    message_ids: Sequence[int],
    *,
    sources: Sequence[str] | None = None,
) -> None:
    """Derive each message's state from its parts: failed if one failed, delivered if all
    were; else it stays as it is (a part is still on its way). The messages' states are read
    first (locked on PostgreSQL), so each statement moves from the one state they are in."""
    if not message_ids:
        return
    sources = sources or DELIVER.sources
    one_failed = (
        f"EXISTS (SELECT 1 FROM {PARTS} p WHERE p.message_id = {TABLE}.id "
        f"AND p.state = '{P.FAILED}')"
    )
    all_delivered = (
        f"NOT EXISTS (SELECT 1 FROM {PARTS} p WHERE p.message_id = {TABLE}.id "
        f"AND p.state <> '{P.DELIVERED}')"
    )
    first_failure = (
        f"(SELECT p.detail FROM {PARTS} p WHERE p.message_id = {TABLE}.id "
        f"AND p.state = '{P.FAILED}' ORDER BY p.seq LIMIT 1)"
    )
    lock = " FOR UPDATE" if is_pg() else ""
    for chunk in chunks(message_ids, IDS_PER_STATEMENT):
        cursor.execute(
            f"SELECT id, status FROM {TABLE} WHERE id IN ({marks(len(chunk))}){lock}",
            list(chunk),
        )
        by_source: dict[str, list[int]] = defaultdict(list)
        for message_id, status in cursor.fetchall():
            if status in sources:
                by_source[status].append(message_id)
        for source, ids in by_source.items():
            failed = _move(
                cursor,
                tally,
                FAIL_REPORTED,
                ids=ids,
                where=one_failed,
                set_sql=f"claimed_by = '', error = {first_failure}",
                sources=[source],
            )
            failed_ids = {r[0] for r in failed}
            rest = [i for i in ids if i not in failed_ids]
            _move(
                cursor,
                tally,
                DELIVER,
                ids=rest,
                where=all_delivered,
                set_sql="claimed_by = '', error = ''",
                sources=[source],
            )


# --- actions of users, and the STOP rule --------------------------------------------------


def mark_read(message_ids: Sequence[int]) -> int:
    """Mark inbound messages read and lower their conversations' unread counts. The ids
    were read by the caller through its organisation (`for_org`); each message's
    conversation is its own organisation's.

    Nothing to mark, nothing written: no transaction is opened (on SQLite a write transaction
    takes the database's lock, and a conversation view calls this on every view)."""
    if not message_ids:
        return 0
    with transaction.atomic():
        rows = list(
            Message.objects.across_orgs()  # ids the caller read through its organisation
            .select_for_update()
            .filter(id__in=message_ids, status__in=READ.sources)
            .values_list("id", "peer", "organisation_id")
        )
        if not rows:
            return 0
        moved = set(move(READ, ids=[r[0] for r in rows]))
        UnreadEntry.objects.across_orgs().filter(message_id__in=moved).delete()
        per_peer: dict[tuple[int, str], int] = defaultdict(int)
        for message_id, peer, org in rows:
            if message_id in moved:
                per_peer[(org, peer)] += 1
        for (org, peer), count in per_peer.items():
            Conversation.objects.for_org(org).filter(peer=peer).update(
                unread_count=Greatest(F("unread_count") - count, 0)
            )
        return len(moved)


# --- campaigns' counts ------------------------------------------------------------------------


def campaign_counts(campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each campaign's count per bucket (folded and not yet folded), in one query over the
    small count tables: no message is read."""
    ids = list(dict.fromkeys(campaign_ids))
    result: dict[int, dict[str, int]] = {cid: {} for cid in ids}
    if not ids:
        return result
    for chunk in chunks(ids, 400):
        sql = (
            f"SELECT campaign_id, bucket, SUM(count) FROM ("
            f"SELECT campaign_id, bucket, count FROM {CAMPAIGN_COUNTS} "
            f"WHERE campaign_id IN ({marks(len(chunk))}) UNION ALL "
            f"SELECT campaign_id, bucket, count FROM {CAMPAIGN_DELTAS} "
            f"WHERE campaign_id IN ({marks(len(chunk))})) AS c GROUP BY 1, 2"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*chunk, *chunk])
            for campaign_id, bucket, n in cursor.fetchall():
                if n:
                    result[campaign_id][bucket] = int(n)
    return result


def settle_campaigns(campaign_ids: Iterable[int], *, now: datetime) -> list[int]:
    """Mark finished those of `campaign_ids` (some of whose messages just reached a final
    state) that have no message left waiting or sent, and tell `campaign_subscribers`; in
    the caller's transaction. Returns the ids newly finished.

    Exactly once per campaign, even when two workers settle its last two messages at the same
    moment: each locks the campaign rows first (PostgreSQL; SQLite has one writer), then
    reads the counts in a statement of its own, which sees the other's committed change (READ
    COMMITTED): the second to lock sees both and finishes it, the first sees one and does
    not. `finished_at IS NULL` makes the mark itself happen once."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return []
    finished: list[int] = []
    with connection.cursor() as cursor:
        for chunk in chunks(ids, IDS_PER_STATEMENT):
            lock = " ORDER BY id FOR UPDATE" if is_pg() else ""
            cursor.execute(
                f"SELECT id FROM {CAMPAIGNS} WHERE id IN ({marks(len(chunk))}) "
                f"AND finished_at IS NULL{lock}",
                list(chunk),
            )
            open_ids = [row[0] for row in cursor.fetchall()]
            done = [
                cid
                for cid, by_bucket in campaign_counts(open_ids).items()
                if by_bucket and all(bucket in FINAL_BUCKETS for bucket in by_bucket)
            ]
            if not done:
                continue
            cursor.execute(
                f"UPDATE {CAMPAIGNS} SET finished_at = %s WHERE id IN ({marks(len(done))}) "
                f"AND finished_at IS NULL RETURNING id",
                [db_time(now), *done],
            )
            finished += [row[0] for row in cursor.fetchall()]
    if finished:
        finished.sort()
        for subscriber in campaign_subscribers:
            subscriber(finished, now)
    return finished


def fold_campaign_counts() -> int:
    """Move the appended changes into the campaigns' counts (the worker's heartbeat); returns
    how many were folded. The deleting statement takes the rows it folds; rows are upserted
    in a fixed order, so two folds cannot deadlock."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CAMPAIGN_DELTAS} RETURNING campaign_id, bucket, count")
        taken = cursor.fetchall()
        if not taken:
            return 0
        summed: dict[tuple[int, str], int] = defaultdict(int)
        for campaign_id, bucket, n in taken:
            summed[(campaign_id, bucket)] += n
        rows = sorted((cid, b, n) for (cid, b), n in summed.items() if n)
        for chunk in chunks(rows, 300):
            # A campaign deleted meanwhile: its changes are dropped (the join finds nothing).
            values = " UNION ALL ".join(["SELECT %s AS cid, %s AS bucket, %s AS n"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {CAMPAIGN_COUNTS} (campaign_id, bucket, count) "
                f"SELECT v.cid, v.bucket, v.n FROM ({values}) v "
                f"JOIN {CAMPAIGNS} c ON c.id = v.cid WHERE true "
                f"ON CONFLICT (campaign_id, bucket) DO UPDATE "
                f"SET count = {CAMPAIGN_COUNTS}.count + excluded.count",
                [value for row in chunk for value in row],
            )
    return len(taken)


# --- the alarm ------------------------------------------------------------------------------

STRAYS_LOOK_BACK = timedelta(minutes=10)


def waiting_without_queue_row(*, since: datetime | None = None) -> list[int]:
    """Ids of claimable outbound messages that have no queue row: none, unless some code
    wrote a status without this module. With `since`, only those created since then (read
    through the list index: cheap enough for the worker's heartbeat)."""
    qs = Message.objects.across_orgs()  # the worker's alarm, over every organisation
    qs = qs.filter(direction=OUT, status__in=CLAIMABLE, gateway__isnull=False).exclude(
        id__in=OutboxEntry.objects.values("message_id")
    )
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return list(qs.values_list("id", flat=True)[:100])


def alarm_strays(now: datetime) -> int:
    """Log an error naming the waiting messages the worker will never claim (the heartbeat
    calls it); returns how many it found."""
    strays = waiting_without_queue_row(since=now - STRAYS_LOOK_BACK)
    if strays:
        log.error(
            "%d waiting messages have no row in the worker's queue and will never be sent "
            "(ids %s): a status was written outside messaging/lifecycle.py",
            len(strays),
            ", ".join(map(str, strays[:10])),
        )
    return len(strays)


def enqueue(messages: Iterable[Message]) -> int:
    """Queue rows for claimable outbound messages written in bulk by hand (the benchmarks'
    and tests' seeding, in the transaction that wrote them): the queue effect of
    `QUEUE_NEW`/`SCHEDULE_NEW`. The application's own writes never need it."""
    entries = [
        OutboxEntry(
            message_id=m.pk,
            gateway_id=m.gateway_id,
            due_at=m.due_at or m.created_at,
            created_at=m.created_at,
        )
        for m in messages
        if m.status in CLAIMABLE and m.direction == OUT and m.gateway_id
    ]
    OutboxEntry.objects.bulk_create(
        entries,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["message_id"],
        update_fields=["gateway_id", "due_at"],
    )
    return len(entries)
