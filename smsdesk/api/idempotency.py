"""`Idempotency-Key` on every API POST: the same key and the same request within 24 hours
answer the first answer again (same code, same body, so the same ids) and create nothing;
the same key with another request answers 422 `idempotency_key_reused`.

The key is taken first thing in the request's transaction, by inserting its row (unique per
token and key), and the answer is stored in that same transaction: two concurrent requests
with one key cannot both go through. The second one's INSERT waits for the first's commit
(PostgreSQL: the unique index; SQLite: its single writer), then finds the key and answers the
stored answer. A 5xx is not stored (the transaction rolls back, key included): the client
may try again. Keys are per token (the Authorization header's digest): two clients never
see each other's answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.api.middleware import error
from smsdesk.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
MAX_KEY = 255


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.body), status=row.status_code or 200, content_type=row.content_type or None
    )
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path_info.startswith("/api/v1/"):
            return self.get_response(request)
        if not 1 <= len(key) <= MAX_KEY or not all(33 <= ord(c) <= 126 for c in key):
            return error(
                400,
                "invalid_idempotency_key",
                _(
                    "Idempotency-Key: from 1 to %(max)d visible ASCII characters "
                    "(a UUID is a good choice)."
                )
                % {"max": MAX_KEY},
            )
        owner = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()
        digest = _digest(
            request.method.encode(),
            request.path_info.encode(),
            request.META.get("QUERY_STRING", "").encode(),
            request.body,
        )
        now = timezone.now()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.filter(
                        owner=owner, key=key, created_at__lt=now - KEPT
                    ).delete()
                    row = IdempotencyKey.objects.create(
                        owner=owner, key=key, request_digest=digest, created_at=now
                    )
            except IntegrityError:
                first = IdempotencyKey.objects.filter(owner=owner, key=key).first()
                if first is None:  # rolled back meanwhile (it answered 5xx): try again
                    return error(
                        409,
                        "idempotency_key_in_use",
                        _("A request with this Idempotency-Key is under way: send it again."),
                    )
                if first.request_digest != digest:
                    return error(
                        422,
                        "idempotency_key_reused",
                        _(
                            "This Idempotency-Key was used for another request in the last "
                            "24 hours: use a new key for a new request."
                        ),
                    )
                return _replay(first)
            response = self.get_response(request)
            if response.status_code >= 500 or getattr(response, "streaming", False):
                transaction.set_rollback(True)
                return response
            row.status_code = response.status_code
            row.content_type = response.get("Content-Type", "")[:100]
            row.body = response.content
            row.save(update_fields=["status_code", "content_type", "body"])
        return response
