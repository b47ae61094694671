"""Data retention: exactly what is older goes, in batches; what waits to be sent, unread SMS,
the STOP list and the counters stay; the dry run counts and deletes nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action, Entry
from smsdesk.calls.models import Call
from smsdesk.messaging import actions, receiving, sending, stats
from smsdesk.messaging.models import GatewayState, Message
from smsdesk.optout.models import OptOut
from smsdesk.retention import services as retention

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world() -> dict[str, object]:
    GatewayState.objects.get_or_create(name="simulator", defaults={"kind": "simulator"})
    bob = User.objects.create_user("bob", password="correct horse 42")
    long_ago = timezone.now() - timedelta(days=400)
    # old: 4 cancelled (go), 2 queued (stay: still to send)
    old_sent = sending.create_campaign(
        author=bob, body="old", to=[f"+3361000000{i}" for i in range(6)]
    )
    ids = [m.id for m in old_sent.created_messages]
    for i in ids[:4]:
        actions.cancel_message(i, by=bob)
    # old inbound: one read (goes), one unread (stays)
    read = receiving.receive_inbound(
        gateway="simulator", sender="+33620000001", text="lu", received_at=long_ago
    )
    unread = receiving.receive_inbound(
        gateway="simulator", sender="+33620000002", text="non lu", received_at=long_ago
    )
    assert read is not None and unread is not None
    actions.mark_read([read.id])
    Message.objects.filter(id__in=[*ids, read.id, unread.id]).update(created_at=long_ago)
    # recent: stays
    recent = sending.create_campaign(author=bob, body="new", to=["+33630000000"])
    actions.cancel_message(recent.created_messages[0].id, by=bob)
    receiving.receive_inbound(
        gateway="simulator", sender="+33611111111", text="STOP", received_at=long_ago
    )
    Message.objects.filter(peer="+33611111111").update(created_at=long_ago)
    Call.objects.create(caller="+33640000000", gateway="simulator", at=long_ago)
    Call.objects.create(caller="+33640000001", gateway="simulator", at=timezone.now())
    Entry.objects.create(at=long_ago, action=Action.SETTINGS, target="old entry")
    stats.fold()
    return {
        "old": ids,
        "read": read.id,
        "unread": unread.id,
        "recent": recent.created_messages[0].id,
    }


def test_exactly_what_is_older_goes_and_the_rest_stays(world: dict) -> None:  # type: ignore[type-arg]
    counters = stats.totals()
    cut = timezone.now() - timedelta(days=365)
    planned = retention.plan(before=cut)
    # old and gone: the 4 cancelled, the read SMS; kept: the 2 queued, the unread ones (the
    # STOP SMS too), the recent one
    kept_ids = set(world["old"][4:]) | {world["unread"], world["recent"]}
    assert Message.objects.filter(id__in=kept_ids).count() == 4
    done = retention.purge(before=cut)
    assert (done.messages, done.calls, done.audit) == (
        planned.messages,
        planned.calls,
        planned.audit,
    )
    assert done.messages == 5 and done.calls == 1 and done.audit == 1
    assert set(
        Message.objects.filter(id__in=[*world["old"], world["read"]]).values_list("id", flat=True)
    ) == set(world["old"][4:])
    assert Message.objects.filter(id__in=kept_ids).count() == 4
    assert Call.objects.count() == 1
    assert OptOut.objects.filter(number="+33611111111").exists()  # the STOP list is kept
    assert not Entry.objects.filter(target="old entry").exists()
    assert Entry.objects.filter(action=Action.PURGE).count() == 1
    stats.fold()
    assert stats.totals() == counters  # the figures stay


def test_it_goes_in_batches(world: dict, settings) -> None:  # type: ignore[no-untyped-def, type-arg]
    settings.SMSDESK_RETENTION_MONTHS = 12  # the worker's share: one batch of each kind
    cut = timezone.now() - timedelta(days=365)
    first = retention.step(batch=2)
    assert (first.messages, first.calls, first.audit) == (2, 1, 1)
    assert retention.plan(before=cut).messages == 3


def test_the_dry_run_deletes_nothing(world: dict) -> None:  # type: ignore[type-arg]
    day = (timezone.now() - timedelta(days=365)).date().isoformat()
    before = Message.objects.count()
    out = io.StringIO()
    call_command("purge", "--before", day, "--dry-run", stdout=out)
    assert "5" in out.getvalue() and Message.objects.count() == before
    call_command("purge", "--before", day, stdout=io.StringIO())
    assert Message.objects.count() == before - 5
    audit.record(Action.SETTINGS, ("x", "1"))  # the log still takes entries


def test_a_deleted_conversation_keeps_no_text(world: dict) -> None:  # type: ignore[type-arg]
    # The discussion list shows the text of its last message: once that message is deleted,
    # its text must not stay behind in the preview (the unread one keeps it: it stays).
    from smsdesk.messaging.models import Conversation

    cut = timezone.now() - timedelta(days=365)
    assert Conversation.objects.get(peer="+33620000001").last_body == "lu"
    assert retention.plan(before=cut).conversations >= 1
    done = retention.purge(before=cut)
    assert done.conversations >= 1
    assert Conversation.objects.get(peer="+33620000001").last_body == ""
    assert Conversation.objects.get(peer="+33620000002").last_body == "non lu"
    assert not Message.objects.filter(body="lu").exists()
