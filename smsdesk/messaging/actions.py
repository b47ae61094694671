"""Actions of users on messages: read, cancel, send again (a campaign's are
messaging/campaigns.py', through the same rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts import access
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import tenancy
from smsdesk.messaging import errors, lifecycle, stop
from smsdesk.messaging.models import (
    Conversation,
    Message,
    UnreadEntry,
)


def mark_read(message_ids: Sequence[int], *, org: Any = None) -> int:
    """Mark inbound messages of `org` read (their conversations' unread counts lowered)."""
    mine = list(
        Message.objects.for_org(tenancy.resolve(org))
        .filter(id__in=list(message_ids))
        .values_list("id", flat=True)
    )
    return lifecycle.mark_read(mine)


class NoConversation(errors.ServiceError):
    code = "not_found"
    http_status = 404


@transaction.atomic
def read_conversation(conversation_id: int, *, org: Any = None) -> int:
    """Mark every unread message of a conversation of `org` read; how many were unread."""
    org = tenancy.resolve(org)
    conversation = Conversation.objects.for_org(org).filter(id=conversation_id).first()
    if conversation is None:
        raise NoConversation(_("No such conversation."))
    unread = list(
        UnreadEntry.objects.for_org(org)
        .filter(message__peer=conversation.peer)
        .values_list("message_id", flat=True)
    )
    return mark_read(unread, org=org) if unread else 0


class NotActionable(errors.ServiceError):
    code = "not_actionable"
    http_status = 409


NotAllowed = access.NotAllowed


def _check_may_act(message_id: int, by: Any, org: Any) -> None:
    message = get_message(message_id, org=org)  # another organisation's: not found
    access.require_author_or_admin(
        by,
        message.author_id if by is not None else None,
        _("Only its author or an administrator may cancel or send again this message."),
    )


@transaction.atomic
def cancel_message(message_id: int, *, by: Any = None, org: Any = None) -> Message:
    """Cancel a message that has not been handed to a gateway yet; `by` (a user) is recorded.

    One conditional UPDATE: if the worker claimed it a moment ago, nothing changes and the
    user is told it is already on its way, never a half-cancelled message.
    """
    org = tenancy.resolve(org)
    _check_may_act(message_id, by, org)
    done = lifecycle.move(lifecycle.CANCEL, ids=[message_id], due_at=None, cancelled_by=by)
    message = get_message(message_id, org=org)
    if not done:
        raise NotActionable(
            _("This message can no longer be cancelled: it is %(status)s.")
            % {"status": message.get_status_display().lower()}
        )
    audit.record(Action.CANCEL, message, actor=by, label=message.peer)
    return message


@transaction.atomic
def retry_message(message_id: int, *, by: Any = None, org: Any = None) -> Message:
    """Queue again a message that failed or whose fate is unknown, at a user's request only.

    An `unknown` message may already have reached the phone: the page says so before the
    user confirms, and the worker never does this on its own.
    """
    org = tenancy.resolve(org)
    _check_may_act(message_id, by, org)
    done = retry_messages(
        Message.objects.for_org(org).filter(id=message_id), by=by, org=org, recorded=True
    )
    message = get_message(message_id, org=org)
    if not done:
        raise NotActionable(
            _("Only a failed or unknown message can be sent again; this one is %(status)s.")
            % {"status": message.get_status_display().lower()}
        )
    audit.record(Action.RETRY, message, actor=by, label=message.peer)
    return message


@transaction.atomic
def retry_messages(
    messages: QuerySet[Message], *, by: Any = None, org: Any = None, recorded: bool = False
) -> int:
    """The rule of every "send again" (one message, or a campaign's): the outbound ones among
    `messages` that failed or whose fate is unknown are queued again now, in one UPDATE
    (`by`, a user, recorded); those to a number that has said STOP since are blocked instead.
    Returns how many were queued again (blocked ones included). Who may ask is the caller's
    check (_check_may_act, campaigns._check_may_act)."""
    now = timezone.now()
    retryable = messages.filter(direction=Message.Direction.OUTBOUND)
    peers = dict(retryable.filter(status__in=lifecycle.RETRY.sources).values_list("id", "peer"))
    done = lifecycle.move(
        lifecycle.RETRY,
        within=retryable,
        now=now,
        due_at=now,
        error="",
        attempts=0,
        retried_by=by,
    )
    stop.block_among(done, (peers[i] for i in done if i in peers), at=now, org=org)
    if done and not recorded:  # (`recorded`: the caller writes the audit entry itself)
        audit.record(
            Action.RETRY,
            ("message", ",".join(map(str, list(done)[:10]))),
            actor=by,
            after={"count": len(done)},
        )
    return len(done)


@transaction.atomic
def requeue_message(message_id: int, *, by: Any = None, org: Any = None) -> Message:
    """Put back in the queue a message a user cancelled (requeue_messages' rule)."""
    org = tenancy.resolve(org)
    _check_may_act(message_id, by, org)
    campaign = get_message(message_id, org=org).campaign
    done = requeue_messages(
        Message.objects.for_org(org).filter(id=message_id),
        send_at=campaign.send_at if campaign else None,
        commercial=campaign.commercial if campaign else False,
        by=by,
        org=org,
    )
    message = get_message(message_id, org=org)
    if not done:
        raise NotActionable(
            _("Only a cancelled message can be put back in the queue; this one is %(status)s.")
            % {"status": message.get_status_display().lower()}
        )
    return message


@transaction.atomic
def requeue_messages(
    messages: QuerySet[Message],
    *,
    send_at: datetime | None,
    commercial: bool = False,
    by: Any,
    org: Any = None,
) -> int:
    """The rule of every "put back in the queue": the cancelled outbound ones among `messages`
    wait again, until `send_at` when it is still ahead (scheduled), else from now (queued),
    a commercial one for the allowed hours; those to a number that has said STOP since are
    blocked instead. Only cancelled messages move: a message that went out (sent, delivered)
    is never queued again by this, so nobody gets the same SMS twice from it. Returns how many
    were put back (blocked ones included)."""
    now = timezone.now()
    due = send_at if send_at is not None and send_at > now else now
    if commercial:
        due = commercial_due(due)
    transition = lifecycle.RESCHEDULE if due > now else lifecycle.REQUEUE
    cancelled = messages.filter(direction=Message.Direction.OUTBOUND)
    peers = dict(cancelled.filter(status=Message.Status.CANCELLED).values_list("id", "peer"))
    done = lifecycle.move(
        transition,
        within=cancelled,
        now=now,
        due_at=due,
        error="",
        attempts=0,
        cancelled_by=None,
        retried_by=by,
    )
    stop.block_among(done, (peers[i] for i in done if i in peers), at=now, org=org)
    return len(done)


def commercial_due(due: datetime) -> datetime:
    from smsdesk.messaging import sending  # sending imports this module's neighbours

    return sending.commercial_send_at(due)


def get_message(message_id: int, *, org: Any = None) -> Message:
    """A message of `org`; another organisation's answers exactly as a missing one."""
    try:
        return (
            Message.objects.for_org(tenancy.resolve(org))
            .select_related("gateway", "campaign")
            .get(id=message_id)
        )
    except Message.DoesNotExist:
        raise errors.NotFound(_("No message with id %(id)s.") % {"id": message_id}) from None
