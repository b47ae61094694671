"""Data kept only as long as allowed, per organisation: messages, calls and audit entries
older than a date are deleted, or (the organisation's choice, `Organisation.retention_mode`)
masked: the text blanked and the number masked. In small batches (`BATCH` rows, one short
transaction, one statement each), so that no lock is held long and sends go on meanwhile.

Each organisation keeps its data `retention_months` months (0: the platform's
`SMSDESK_RETENTION_MONTHS`; both 0: for ever). The worker does one batch per organisation at
each heartbeat (`step`); `smsdesk purge --before DATE [--org SLUG] [--mask] [--dry-run]` does
it (or shows it) by hand.

Never touched: what still waits to be sent or is being sent, unread SMS (someone has yet to
read them), the STOP list and its history (it must be kept: a number that said STOP must
never be texted again), campaigns (their counts), the contacts (the directory is the
office's own), the counters (`messaging.stats`: the figures of the home page and Statistics
page stay, as they are kept apart from the messages).

Masking: the text becomes "" (`Message.body`, and the conversation's last text when nothing
newer or unread is in it), the number keeps its first 3 characters ("+" and the first two
digits: the country code of most) and its last 2, the rest `MASK` ("+33612345678" →
"+33•••••••78"; 7 characters or fewer: all masked). Deliberately not unique: a unique mask
would be a pseudonym that still links everything one person wrote. Audit entries are deleted
in both modes (they cannot be changed: audit/services.py), and so is the conversations' last
text blanking: in mode delete its message is gone, its text must not stay in the preview.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Value, When
from django.db.models.functions import Concat, Greatest, Left, Length, Repeat, Right
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from smsdesk.accounts.models import Organisation
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.calls.models import Call
from smsdesk.messaging import lifecycle, partitions
from smsdesk.messaging.models import Conversation, Message, UnreadEntry

BATCH = 500
KEPT = (*lifecycle.OUTSTANDING, Message.Status.UNREAD)
MASK = "•"  # U+2022: never in a number as stored (E.164, or a sender's name)
MONTH = timedelta(days=30)


@dataclass
class Counts:
    messages: int = 0  # deleted
    calls: int = 0
    audit: int = 0
    masked_messages: int = 0
    masked_calls: int = 0
    conversations: int = 0  # their last text blanked

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def mask_number(number: str) -> str:
    """The number as masking leaves it (the same as `_masked` does in SQL)."""
    if len(number) <= 7:  # at least one MASK: an empty number (a hidden caller) too
        return MASK * max(len(number), 1)
    return number[:3] + MASK * (len(number) - 5) + number[-2:]


def _masked(column: str) -> Any:
    """`mask_number` of a column, in SQL: one UPDATE masks a whole batch."""
    length = Length(column)
    return Case(
        When(
            GreaterThan(length, 7),
            then=Concat(Left(column, 3), Repeat(Value(MASK), length - 5), Right(column, 2)),
        ),
        default=Repeat(Value(MASK), Greatest(length, 1)),
    )


def months(org: Organisation) -> int:
    """How many months `org`'s data is kept (0: for ever)."""
    return org.retention_months or settings.SMSDESK_RETENTION_MONTHS


def cut(org: Organisation, now: datetime) -> datetime | None:
    """Older than this goes (None: kept for ever)."""
    n = months(org)
    return now - n * MONTH if n else None


def masks(org: Organisation) -> bool:
    return org.retention_mode == Organisation.Retention.MASK


def _old_messages(org: Organisation, before: datetime):  # type: ignore[no-untyped-def]
    return Message.objects.for_org(org).filter(created_at__lt=before).exclude(status__in=KEPT)


def _to_mask(org: Organisation, before: datetime):  # type: ignore[no-untyped-def]
    return _old_messages(org, before).exclude(peer__contains=MASK)


def _old_calls(org: Organisation, before: datetime):  # type: ignore[no-untyped-def]
    return Call.objects.for_org(org).filter(at__lt=before)


def _calls_to_mask(org: Organisation, before: datetime):  # type: ignore[no-untyped-def]
    return _old_calls(org, before).exclude(caller__contains=MASK)


def _conversations(org: Organisation, before: datetime):  # type: ignore[no-untyped-def]
    # its last message is old (and read: unread ones are kept, text and all)
    return (
        Conversation.objects.for_org(org)
        .filter(last_at__lt=before, unread_count=0)
        .exclude(last_body="")
    )


def _audit_entries(org: Organisation | None, before: datetime):  # type: ignore[no-untyped-def]
    return audit.old_entries(before=before, org_id=org.pk if org is not None else None)


def plan(*, before: datetime, org: Organisation | None = None, mask: bool | None = None) -> Counts:
    """What a purge would do (the dry run): `org`'s, or every organisation's (each by its own
    mode unless `mask` says)."""
    total = Counts()
    for one in [org] if org is not None else _organisations():
        masking = masks(one) if mask is None else mask
        if masking:
            total.masked_messages += _to_mask(one, before).count()
            total.masked_calls += _calls_to_mask(one, before).count()
        else:
            total.messages += _old_messages(one, before).count()
            total.calls += _old_calls(one, before).count()
        total.conversations += _conversations(one, before).count()
    total.audit = (
        _audit_entries(org, before) if org is not None else audit.old_entries(before=before)
    ).count()
    return total


def _organisations() -> list[Organisation]:
    return list(Organisation.objects.order_by("id"))


def _ids(query: Any, batch: int) -> list[int]:
    return list(query.order_by("id").values_list("id", flat=True)[:batch])


def purge_batch(
    *, before: datetime, org: Organisation, mask: bool | None = None, batch: int = BATCH
) -> Counts:
    """One batch of each kind of `org`'s data, each in its own short transaction (one
    statement, which checks again what it changes: a message sent again meanwhile stays)."""
    done = Counts()
    masking = masks(org) if mask is None else mask
    if masking:
        ids = _ids(_to_mask(org, before), batch)
        if ids:
            with transaction.atomic():
                done.masked_messages = (
                    _to_mask(org, before).filter(id__in=ids).update(body="", peer=_masked("peer"))
                )
        ids = _ids(_calls_to_mask(org, before), batch)
        if ids:
            with transaction.atomic():
                done.masked_calls = (
                    _calls_to_mask(org, before).filter(id__in=ids).update(caller=_masked("caller"))
                )
    else:
        ids = _ids(_old_messages(org, before), batch)
        if ids:
            with transaction.atomic():
                done.messages = (
                    _old_messages(org, before)
                    .filter(id__in=ids)
                    .delete()[1]
                    .get("messaging.Message", 0)
                )
        ids = _ids(_old_calls(org, before), batch)
        if ids:
            with transaction.atomic():
                done.calls = _old_calls(org, before).filter(id__in=ids).delete()[0]
    # Either mode: the discussion list's preview is the text of the last message, which is
    # gone (deleted) or blanked (masked) by now: blank it too, or the text outlives its message.
    ids = _ids(_conversations(org, before), batch)
    if ids:
        with transaction.atomic():
            done.conversations = _conversations(org, before).filter(id__in=ids).update(last_body="")
    done.audit = audit.purge(before=before, limit=batch, org_id=org.pk)
    return done


def purge(
    *,
    before: datetime,
    org: Organisation | None = None,
    mask: bool | None = None,
    batch: int = BATCH,
) -> Counts:
    """Everything of `org` (None: of every organisation, and the platform's own audit
    entries) older than `before`, batch after batch, deleted or masked (each organisation's
    mode unless `mask` says); one audit entry says what went."""
    total = Counts()
    for one in [org] if org is not None else _organisations():
        while True:
            done = purge_batch(before=before, org=one, mask=mask, batch=batch)
            total.add(done)
            if not done.total:
                break
    if org is None:  # the platform's own entries, and those of no organisation left
        while n := audit.purge(before=before, limit=batch):
            total.audit += n
    if total.total:
        audit.record(
            Action.PURGE,
            ("data", org.slug if org is not None else ""),
            after={"before": before, **{f.name: getattr(total, f.name) for f in fields(total)}},
            label=before.date().isoformat(),
            org=org,
        )
    return total


# An organisation whose last batch found nothing is looked at again only this much later (by
# this process): with masking, its old rows stay, and finding none left to mask reads them.
SETTLED_RECHECK = timedelta(hours=1)
_settled_until: dict[int, datetime] = {}


_months_next: list[datetime] = []  # when `step` looks for whole months to drop again


def forget_settled() -> None:
    """Look at every organisation at the next step (the tests: each starts afresh)."""
    _settled_until.clear()
    _months_next.clear()


def step(*, now: datetime | None = None, batch: int = BATCH) -> Counts:
    """The worker's share at each heartbeat: one batch of each organisation whose data is
    not kept for ever, older than its own months, by its own mode; then one batch of the
    platform's own audit entries (older than SMSDESK_RETENTION_MONTHS). An organisation with
    nothing left to do is looked at again an hour later (SETTLED_RECHECK)."""
    now = now or timezone.now()
    total = Counts()
    if not _months_next or _months_next[0] <= now:  # whole months: hourly (SETTLED_RECHECK)
        _months_next[:] = [now + SETTLED_RECHECK]
        total.messages += drop_months(now=now)
    for org in _organisations():
        before = cut(org, now)
        if before is None or _settled_until.get(org.pk, now) > now:
            continue
        done = purge_batch(before=before, org=org, batch=batch)
        total.add(done)
        if done.total:
            _settled_until.pop(org.pk, None)
        else:
            _settled_until[org.pk] = now + SETTLED_RECHECK
    if settings.SMSDESK_RETENTION_MONTHS:
        before = now - settings.SMSDESK_RETENTION_MONTHS * MONTH
        total.audit += audit.purge(before=before, limit=batch, platform=True)
    return total


def droppable(start: datetime, *, now: datetime) -> bool:
    """Whether the month of messages beginning at `start` (a partition, PostgreSQL) may go
    whole: every organisation with messages in it deletes (not masks) and keeps less than
    what separates the month's end from `now`, and none of its messages waits to be sent,
    is being sent or is unread (KEPT: the row path keeps those too)."""
    end = partitions.next_month(start)
    month = Message.objects.across_orgs().filter(created_at__gte=start, created_at__lt=end)
    owners = set(month.order_by().values_list("organisation_id", flat=True).distinct())
    if not owners:
        return False  # nothing to gain; an empty month ahead stays
    for org in Organisation.objects.filter(pk__in=owners):
        before = cut(org, now)
        if masks(org) or before is None or end > before:
            return False
    if len(owners) > Organisation.objects.filter(pk__in=owners).count():
        return False  # rows of an organisation gone: left to the row path
    if UnreadEntry.objects.across_orgs().filter(created_at__gte=start, created_at__lt=end).exists():
        return False
    return not month.filter(status__in=KEPT).exists()


def drop_months(*, now: datetime) -> int:
    """PostgreSQL, the message table partitioned by month: each whole month that may go
    (`droppable`) dropped at once with what points to its messages, oldest first, instead
    of deleting its rows batch after batch; the number of messages dropped (audited). What
    is left (a month shared with an organisation that keeps, masks, or with a message that
    waits) goes by the row path. Nothing on SQLite."""
    cuts = [cut(org, now) for org in _organisations() if not masks(org)]
    latest = max((c for c in cuts if c is not None), default=None)
    if latest is None:  # every organisation keeps for ever or masks: no month can go
        return 0
    dropped = 0
    for start in partitions.months():
        if partitions.next_month(start) > latest or not droppable(start, now=now):
            continue
        n = partitions.drop_month(start)
        dropped += n
        audit.record(
            Action.PURGE,
            ("data", ""),
            after={"month": start.date().isoformat(), "messages": n},
            label=start.date().isoformat(),
        )
    return dropped
