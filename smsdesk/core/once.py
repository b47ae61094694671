"""One-time form keys: the same form submitted twice acts once.

Each form that creates something carries a random key ({% form_key %}, a hidden field). The
view claims the key in the same transaction as its work: a second submission of that form (a
double click, Back then submit, a reload) finds the key taken and does nothing. If the work is
refused (a form error), the transaction rolls back and the key stays free for the corrected
submission, which carries the same key.

A POST without a key (a script, an old page) is not protected but still works: the key guards
against a person's double click, it is not an access control.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smsdesk.core.errors import ServiceError
from smsdesk.core.models import FormKey, IdempotencyKey

FIELD = "form_key"
KEEP = timedelta(days=2)  # a key older than this is forgotten (a form open two days)
_SHAPE = re.compile(r"^[0-9a-f]{32}$")


class AlreadySubmitted(ServiceError):
    code = "already_submitted"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            str(_("This form was already sent: it was not sent a second time.")), field=None
        )


def new_key() -> str:
    return secrets.token_hex(16)


def key_for(request: HttpRequest) -> str:
    """The key of a form being shown: the one it was posted with (errors shown again), or new."""
    posted = request.POST.get(FIELD, "") if request.method == "POST" else ""
    if getattr(request, _DONE, False):
        return new_key()
    return posted if _SHAPE.match(posted) else new_key()


_DONE = "smsdesk_form_done"


def done(request: HttpRequest) -> None:
    """The posted form's work is done and its answer is a page, not a redirect (a secret shown
    once): the forms on that page get new keys, so that the next one is not taken for a
    second submission of this one."""
    setattr(request, _DONE, True)


def claim(request: HttpRequest) -> None:
    """Take the posted form's key, or raise AlreadySubmitted. Call inside the transaction that
    does the form's work, so a refused submission leaves the key free."""
    key = request.POST.get(FIELD, "")
    if not _SHAPE.match(key):
        return
    now = timezone.now()
    try:
        with transaction.atomic():
            FormKey.objects.create(key=key, used_at=now)
    except IntegrityError:
        raise AlreadySubmitted() from None
    FormKey.objects.filter(used_at__lt=now - KEEP).delete()


def purge_idempotency_keys(now: datetime | None = None) -> int:
    """Forget the API's Idempotency-Keys older than 24 hours (api/idempotency.py)."""
    limit = (now or timezone.now()) - timedelta(hours=24)
    return IdempotencyKey.objects.filter(created_at__lt=limit).delete()[0]
