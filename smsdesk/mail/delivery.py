"""The worker's side of the outbox: due mails sent one by one, tried again with back-off.

A `Sender` thread of the worker (like the webhooks' `Dispatcher`) takes due mails with a lease
(`locked_until`, one conditional UPDATE: two workers never send the same mail; one that died
frees it when the lease ends), sends each outside any transaction, then records the result.
While the server is away the mails wait: `BACKOFF` (15 s, 30 s, 1 min, ... 1 h) for up to
`RETRY_FOR` (3 days) from the mail's creation, then given up and logged. A permanent refusal
(a 5xx for the recipient) gives the mail up at once.

When a try fails because the server cannot be reached, the other mails due now are not tried
in that round (they would fail the same way, each after a timeout): the whole outbox waits
for the next round, so 500 mails queued during an outage cost one connection attempt per
round, not 500. Nothing is dropped: each one keeps its row until it is sent or given up.

A mail sent whose result could not be written (the database went away right after) is sent
again after its lease: at least once, never lost.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from smsdesk import mailer
from smsdesk.mail.models import OutgoingMail

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=mailer.TIMEOUT * 3 + 10)
RETRY_FOR = timedelta(days=3)
BACKOFF = [15, 30, 60, 120, 300, 600, 1800, 3600]  # seconds, then every hour
BATCH = 50


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF)) - 1])


def transport() -> mailer.Transport:
    return mailer.transport_for(mailer.parse(settings.SMSDESK_EMAIL_URL))


def due(now: datetime, limit: int = BATCH) -> list[int]:
    return list(
        OutgoingMail.objects.filter(state=OutgoingMail.State.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def take(mail_id: int, now: datetime) -> OutgoingMail | None:
    taken = (
        OutgoingMail.objects.filter(id=mail_id, state=OutgoingMail.State.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE)
    )
    return OutgoingMail.objects.get(id=mail_id) if taken else None


def deliver(
    mail_id: int, *, via: mailer.Transport | None = None, now: datetime | None = None
) -> mailer.MailError | bool | None:
    """One try of one mail: True sent, a MailError when it failed, None when another worker
    has it or it is not waiting any more."""
    now = now or timezone.now()
    m = take(mail_id, now)
    if m is None:
        return None
    msg = mailer.build(
        mailer.Mail(
            sender=settings.SMSDESK_EMAIL_FROM,
            to=m.to,
            subject=m.subject,
            text=m.text,
            html=m.html,
            headers=dict(m.headers),
            message_id=_message_id(m),
        )
    )
    try:
        (via or transport()).send(msg)
    except mailer.MailError as e:
        record_failure(m, e, now=now)
        return e
    OutgoingMail.objects.filter(id=m.id).update(
        state=OutgoingMail.State.SENT,
        sent_at=timezone.now(),
        attempts=m.attempts + 1,
        locked_until=None,
        last_error="",
    )
    return True


def _message_id(m: OutgoingMail) -> str:
    """Stable for a mail: a mail sent again after a lost result is recognisably the same."""
    domain = settings.SMSDESK_EMAIL_FROM.rpartition("@")[2].strip("> ") or "localhost"
    return f"<smsdesk-{m.id}-{int(m.created_at.timestamp())}@{domain}>"


def record_failure(m: OutgoingMail, e: mailer.MailError, *, now: datetime) -> None:
    attempts = m.attempts + 1
    give_up = e.permanent or now - m.created_at >= RETRY_FOR
    OutgoingMail.objects.filter(id=m.id).update(
        attempts=attempts,
        locked_until=None,
        last_error=e.reason[:300],
        state=OutgoingMail.State.FAILED if give_up else OutgoingMail.State.PENDING,
        next_attempt_at=now if give_up else now + backoff(attempts),
    )
    if give_up:
        log.error("mail %s to %s given up after %d tries: %s", m.id, m.to, attempts, e.reason)
    else:
        log.warning(
            "mail %s to %s not sent (try %d), again later: %s", m.id, m.to, attempts, e.reason
        )


def run_due(*, via: mailer.Transport | None = None, now: datetime | None = None) -> int:
    """Send what is due now; how many were sent. Stops the round at the first failure that is
    not the recipient's own (the server is away: the rest waits for the next round)."""
    sent = 0
    via = via or transport()
    with mailer.session(via):  # one SMTP connection for the round
        while True:
            ids = due(now or timezone.now())
            if not ids:
                return sent
            for mail_id in ids:
                result = deliver(mail_id, via=via, now=now)
                if result is True:
                    sent += 1
                elif isinstance(result, mailer.MailError) and not result.permanent:
                    _defer_the_rest(now or timezone.now(), mail_id)
                    return sent


def _defer_the_rest(now: datetime, failed: int) -> None:
    """The server is away: what is due now waits as long as the mail that just failed."""
    until = OutgoingMail.objects.filter(id=failed).values_list("next_attempt_at", flat=True).first()
    if until is None or until <= now:
        return
    OutgoingMail.objects.filter(state=OutgoingMail.State.PENDING, next_attempt_at__lte=now).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    ).update(next_attempt_at=until)


def waiting() -> int:
    return OutgoingMail.objects.filter(state=OutgoingMail.State.PENDING).count()


def failed_recently(now: datetime | None = None) -> int:
    since = (now or timezone.now()) - RETRY_FOR
    return OutgoingMail.objects.filter(
        state=OutgoingMail.State.FAILED, created_at__gte=since
    ).count()


class Sender(threading.Thread):
    """The worker's mail thread: one connection attempt per mail, never on a gateway's
    thread, so a slow or absent mail server holds up nothing but mail."""

    def __init__(self, stopping: threading.Event, *, idle_sleep: float = 1.0) -> None:
        super().__init__(name="mail", daemon=True)
        self.stopping = stopping
        self.idle_sleep = idle_sleep
        self.wake = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    run_due()
                except Exception:
                    log.exception("mail: sending from the outbox failed, retrying")
                    connection.close()
                self.wake.wait(self.idle_sleep)
                self.wake.clear()
        finally:
            connection.close()
