"""Queueing mail: rendered in the recipient's language, written to the outbox in the caller's
transaction (mail/models.py), sent by the worker (mail/delivery.py).

Every mail has a plain text body and an HTML one made from the same template context: no
remote image, no pixel, no redirecting link; what a link says is where it goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from smsdesk.mail.models import MailStop, OutgoingMail

MAX_SUBJECT = 300


class Kind(models.TextChoices):
    """What a mail is about; each kind but the account's own can be stopped by its reader."""

    PASSWORD_RESET = "password_reset", _("Password reset")
    INBOUND_COPY = "inbound_copy", _("Copies of received SMS")
    CAMPAIGN_FINISHED = "campaign_finished", _("Campaign finished")
    GATEWAY_DOWN = "gateway_down", _("Gateway down")
    REPLY_REFUSED = "reply_refused", _("Reply by email not sent")
    QUOTA_WARNING = "quota_warning", _("SMS quota nearly used")
    DAILY_SUMMARY = "daily_summary", _("Daily summary")


# Answers to what the reader just did themselves: never stopped by "stop these mails".
ANSWERS = frozenset({Kind.PASSWORD_RESET, Kind.REPLY_REFUSED})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, context: dict[str, object], *, language: str = "") -> Rendered:
    """`mail/<template>_subject.txt`, `.txt` and `.html`, in `language` ("" : the default)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        ctx = {"base_url": settings.SMSDESK_BASE_URL, **context}
        subject = " ".join(render_to_string(f"mail/{template}_subject.txt", ctx).split())
        text = render_to_string(f"mail/{template}.txt", ctx)
        html = render_to_string(f"mail/{template}.html", ctx)
    return Rendered(subject[:MAX_SUBJECT], text, html)


def queue(
    *,
    to: str,
    kind: str,
    subject: str,
    text: str,
    html: str = "",
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
) -> OutgoingMail | None:
    """One mail into the outbox, in the caller's transaction (no network here); None when
    the address stopped that kind of mail."""
    now = now or timezone.now()
    if kind not in ANSWERS and stopped(address=to, kind=kind):
        return None
    return OutgoingMail.objects.create(
        kind=kind,
        to=to,
        subject=subject[:MAX_SUBJECT],
        text=text,
        html=html,
        headers=headers or {},
        next_attempt_at=now,
        created_at=now,
    )


def queue_rendered(
    *,
    to: str,
    kind: str,
    template: str,
    context: dict[str, object],
    language: str = "",
    headers: dict[str, str] | None = None,
) -> OutgoingMail | None:
    r = render(template, context, language=language)
    return queue(to=to, kind=kind, subject=r.subject, text=r.text, html=r.html, headers=headers)


def absolute(path: str) -> str:
    """A link for a mail the worker writes (no request to take the host from)."""
    return urljoin(settings.SMSDESK_BASE_URL.rstrip("/") + "/", path.lstrip("/"))


# --- stopping a kind of mail in one click (RFC 8058) --------------------------------------

UNSUBSCRIBE_SALT = "smsdesk.mail.unsubscribe"


def unsubscribe_token(*, kind: str, address: str) -> str:
    """Signed, with no expiry: a link in an old mail must still stop that kind of mail."""
    return signing.dumps({"k": kind, "a": address}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[str, str] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in Kind.values:
        return None
    return str(data["k"]), str(data.get("a", ""))


def unsubscribe_url(*, kind: str, address: str) -> str:
    return absolute(reverse("mail:stop", args=[unsubscribe_token(kind=kind, address=address)]))


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058: a mail client's "unsubscribe" button POSTs to `url`."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def stopped(*, address: str, kind: str) -> bool:
    return MailStop.objects.filter(address=address.lower(), kind=kind).exists()


def stop(*, address: str, kind: str) -> bool:
    """No more mail of `kind` to `address` (True: it was not stopped yet)."""
    _row, created = MailStop.objects.get_or_create(
        address=address.lower(), kind=kind, defaults={"at": timezone.now()}
    )
    return created


def resume(*, address: str, kind: str) -> None:
    MailStop.objects.filter(address=address.lower(), kind=kind).delete()
