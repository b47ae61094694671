"""Copies of received SMS by email.

Who gets one (decided when the SMS is stored, in its transaction): each active user with an
email address whose Mon compte says "every SMS received", or "only in conversations I took
part in" and who sent an SMS to that number before; each address of SMSDESK_EMAIL_COPIES_TO;
and each address the SMS's organisation's administrators listed (Utilisateurs page). Each
address once per SMS. An address that clicked "stop these mails" gets none
(mail.services.stopped).

Grouping: the copies of one address wait until the oldest is SMSDESK_EMAIL_COPY_GROUP_SECONDS
old, then leave as one mail (at most `PER_MAIL` SMS listed; more make more mails). 500 SMS
in a minute are a handful of mails, not 500.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from smsdesk.accounts.models import Organisation, User
from smsdesk.mail import services as mail
from smsdesk.messaging import lifecycle
from smsdesk.messaging.links import conversation_url
from smsdesk.messaging.models import Message
from smsdesk.notify import replies
from smsdesk.notify.models import PendingCopy

PER_MAIL = 100


def _wants(t: lifecycle.Transition) -> bool:
    return t is lifecycle.RECEIVE


def on_changes(changes: Sequence[lifecycle.Change]) -> None:
    received = [c.message_id for c in changes if c.transition is lifecycle.RECEIVE]
    if not received:
        return
    # The SMS of this batch, read by id (the lifecycle's own ids: across organisations), and
    # copied to the users of each SMS's own organisation only.
    messages = list(
        Message.objects.across_orgs()
        .filter(id__in=received)
        .values("id", "peer", "organisation_id")
    )
    orgs = {m["organisation_id"] for m in messages}
    users = list(
        User.objects.filter(
            is_active=True, email_copies__in=["all", "mine"], organisation_id__in=orgs
        ).exclude(email="")
    )
    extra = list(settings.SMSDESK_EMAIL_COPIES_TO)
    # each organisation's own addresses (Utilisateurs page), for its own SMS only
    org_extra = {
        org_id: [a for a in addresses.split("\n") if a]
        for org_id, addresses in Organisation.objects.filter(id__in=orgs)
        .exclude(copy_addresses="")
        .values_list("id", "copy_addresses")
    }
    if not users and not extra and not org_extra:
        return
    mine = [u.id for u in users if u.email_copies == User.EmailCopies.MINE]
    took_part: set[tuple[int, str]] = set()
    if mine:
        took_part = set(
            Message.objects.across_orgs()  # (the authors' own organisations: users of `orgs`)
            .filter(
                direction=Message.Direction.OUTBOUND,
                author_id__in=mine,
                peer__in={m["peer"] for m in messages},
            )
            .values_list("author_id", "peer")
            .distinct()
        )
    now = timezone.now()
    rows = []
    for m in messages:
        for u in users:
            if u.organisation_id != m["organisation_id"]:
                continue
            if u.email_copies == User.EmailCopies.ALL or (u.id, m["peer"]) in took_part:
                rows.append(
                    PendingCopy(
                        address=u.email,
                        language=u.language,
                        user=u,
                        message_id=m["id"],
                        created_at=now,
                    )
                )
        # each address once per SMS (a user's own address listed as an extra one too)
        copied = {r.address.lower() for r in rows if r.message_id == m["id"]}
        for a in [*extra, *org_extra.get(m["organisation_id"], [])]:
            if a.lower() not in copied:
                copied.add(a.lower())
                rows.append(PendingCopy(address=a, language="", message_id=m["id"], created_at=now))
    PendingCopy.objects.bulk_create(rows, batch_size=500)


on_changes.wants = _wants  # type: ignore[attr-defined]


def register() -> None:
    if on_changes not in lifecycle.subscribers:
        lifecycle.subscribers.append(on_changes)


def flush(*, now: datetime | None = None) -> int:
    """The worker's step: one mail per address whose oldest copy waited long enough; how
    many mails were queued."""
    now = now or timezone.now()
    ripe = now - timedelta(seconds=settings.SMSDESK_EMAIL_COPY_GROUP_SECONDS)
    addresses = list(
        PendingCopy.objects.filter(created_at__lte=ripe)
        .values_list("address", flat=True)
        .distinct()
    )
    queued = 0
    for address in addresses:
        while _one_mail(address):
            queued += 1
    return queued


@transaction.atomic
def _one_mail(address: str) -> bool:
    copies = list(
        PendingCopy.objects.select_for_update(skip_locked=True)
        .filter(address=address)
        .select_related("message")
        .order_by("id")[:PER_MAIL]
    )
    if not copies:
        return False
    PendingCopy.objects.filter(id__in=[c.id for c in copies]).delete()
    language = copies[0].language
    items = [
        {
            "peer": c.message.peer,
            "body": c.message.body,
            "at": c.message.created_at,
            "url": mail.absolute(conversation_url(c.message.peer)),
        }
        for c in copies
    ]
    unsubscribe = mail.unsubscribe_url(kind=mail.Kind.INBOUND_COPY, address=address)
    headers = mail.unsubscribe_headers(unsubscribe)
    # A mail about one correspondent, to a user: answering it sends an SMS (replies.py).
    users = {c.user_id for c in copies}
    reply_to = replies.reply_to_of_copies(
        user_id=users.pop() if len(users) == 1 else None,
        messages=[(c.message.organisation_id, c.message.peer) for c in copies],
    )
    if reply_to:
        headers["Reply-To"] = reply_to
    mail.queue_rendered(
        to=address,
        kind=mail.Kind.INBOUND_COPY,
        template="inbound_copy",
        context={
            "items": items,
            "count": len(items),
            "unsubscribe_url": unsubscribe,
            "reply_by_mail": bool(reply_to),
        },
        language=language,
        headers=headers,
    )
    return True


def waiting_by_address() -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for a in PendingCopy.objects.values_list("address", flat=True):
        counts[a] += 1
    return dict(counts)
