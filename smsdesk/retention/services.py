"""Data kept only as long as allowed: messages, calls and audit entries older than a date
are deleted, in small batches (`BATCH` rows, one short transaction each), so that no lock
is held long and sends go on meanwhile.

Never deleted: what still waits to be sent or is being sent, unread SMS (someone has yet to
read them), the STOP list and its history (it must be kept: a number that said STOP must
never be texted again), campaigns (their counts), the counters (`messaging.stats`: the
figures of the home page and Statistics page stay, as they are kept apart from the
messages). `SMSDESK_RETENTION_MONTHS` makes the worker do it on its own; `smsdesk purge
--before DATE [--dry-run]` does it (or shows it) by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from smsdesk.audit import services as audit
from smsdesk.audit.models import Action, Entry
from smsdesk.calls.models import Call
from smsdesk.messaging import lifecycle
from smsdesk.messaging.models import Message

BATCH = 500
KEPT = (*lifecycle.OUTSTANDING, Message.Status.UNREAD)


@dataclass
class Counts:
    messages: int = 0
    calls: int = 0
    audit: int = 0

    @property
    def total(self) -> int:
        return self.messages + self.calls + self.audit

    def add(self, other: Counts) -> None:
        self.messages += other.messages
        self.calls += other.calls
        self.audit += other.audit


def _old_messages(before: datetime):  # type: ignore[no-untyped-def]
    # across organisations: the platform's retention (one setting for every organisation;
    # per organisation is not done yet, docs/audit.md)
    return Message.objects.across_orgs().filter(created_at__lt=before).exclude(status__in=KEPT)


def _old_calls(before: datetime):  # type: ignore[no-untyped-def]
    return Call.objects.across_orgs().filter(at__lt=before)  # (as _old_messages)


def plan(*, before: datetime) -> Counts:
    """What a purge would delete (the dry run)."""
    return Counts(
        messages=_old_messages(before).count(),
        calls=_old_calls(before).count(),
        audit=Entry.objects.filter(at__lt=before).count(),
    )


def purge_batch(*, before: datetime, batch: int = BATCH) -> Counts:
    """One batch of each kind, each in its own short transaction."""
    done = Counts()
    ids = list(_old_messages(before).order_by("id").values_list("id", flat=True)[:batch])
    if ids:
        with transaction.atomic():
            done.messages = (
                _old_messages(before)
                .filter(id__in=ids)
                .exclude(status__in=KEPT)
                .delete()[1]
                .get("messaging.Message", 0)
            )
    call_ids = list(_old_calls(before).order_by("id").values_list("id", flat=True)[:batch])
    if call_ids:
        with transaction.atomic():
            done.calls = _old_calls(before).filter(id__in=call_ids).delete()[0]
    done.audit = audit.purge(before=before, limit=batch)
    return done


def purge(*, before: datetime, batch: int = BATCH) -> Counts:
    """Everything older than `before`, batch after batch; one audit entry says what went."""
    total = Counts()
    while True:
        done = purge_batch(before=before, batch=batch)
        total.add(done)
        if not done.total:
            break
    if total.total:
        audit.record(
            Action.PURGE,
            ("data", ""),
            after={
                "before": before,
                "messages": total.messages,
                "calls": total.calls,
                "audit": total.audit,
            },
            label=before.date().isoformat(),
        )
    return total
