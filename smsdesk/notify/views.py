"""The HTTP inbound hook of reply by email: a mail provider (Mailgun, SendGrid, any that can
POST a raw mail) hands a received mail to `POST /mail/inbound/`, and `replies.receive` (the
same checks as `smsdesk mail receive`) sends it as an SMS.

Outside the login and CSRF exempt, like the gateways' callbacks: the authority is the secret
`SMSDESK_EMAIL_INBOUND_TOKEN` (`Authorization: Bearer …`, or `?token=` since a provider is
only given a URL), compared in constant time; without the setting the URL answers 404.
Refused secrets are counted per address with the API tokens' (`tokens.refused`): 429 past
the limit.

The mail: the request's body (`Content-Type: message/rfc822`), or the form field `body-mime`
(Mailgun's forward() to a URL ending in "mime") or `email` (SendGrid Inbound Parse, "POST
the raw, full MIME message"); the envelope recipient from `recipient` (Mailgun), `envelope`
(SendGrid's JSON) or `to`. The form is read here, not by Django (whose limit for form fields,
SMSDESK_MAX_REQUEST_BYTES, is below a mail's `replies.MAX_BYTES`).

Answers: 200 `{"status": "sent"|"duplicate"}`; 422 (406 to Mailgun, which retries anything
else) `{"status": "refused", "reason": …}`: a refusal the provider must not retry; 400 a
request that is not one of these shapes; 401 a wrong secret; 413 too large; 503 with
Retry-After when the database cannot be used (the provider tries again).
"""

from __future__ import annotations

import json
import logging
from email import policy
from email.message import Message
from email.parser import BytesParser
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from smsdesk.accounts import tokens
from smsdesk.core import faults
from smsdesk.notify import replies

log = logging.getLogger(__name__)

RAW_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# A form carries the mail and, besides, the provider's own parsing of it (Mailgun's
# body-plain, body-html, stripped-text...): room for three times the mail.
FORM_MAX_BYTES = 3 * replies.MAX_BYTES
MAIL_FIELDS = ("body-mime", "email")  # Mailgun, SendGrid
MAX_FIELDS = 200


class Malformed(ValueError):
    pass


class TooLarge(ValueError):
    pass


def _answer(code: int, **body: str) -> JsonResponse:
    return JsonResponse(body, status=code)


def _secret_given(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.GET.get("token", "")


def _read(request: HttpRequest, limit: int) -> bytes:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise Malformed("Content-Length") from None
    if length > limit:
        raise TooLarge
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise TooLarge
    return raw


def _form(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data or urlencoded body, as bytes."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:  # each byte as it was sent: a mail may be 8-bit, in any charset
            parsed = parse_qs(body.decode("ascii"), encoding="latin-1", max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise Malformed("not a form") from None
        return {k: v[0].encode("latin-1") for k, v in parsed.items()}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("ascii", "replace")
    try:
        form = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        if not form.is_multipart() or form.defects:
            raise Malformed("not a multipart form")
        fields: dict[str, bytes] = {}
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or name in fields:
                continue
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, Message):  # a field sent as message/rfc822: the mail itself
                payload: object = inner.as_bytes(policy=policy.SMTP)
            else:
                payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                fields[name] = payload
            if len(fields) > MAX_FIELDS:
                raise Malformed("too many fields")
    except Malformed:
        raise
    except Exception as e:  # whatever the bytes make the email package raise
        raise Malformed(f"not a multipart form ({type(e).__name__})") from None
    return fields


def _recipient(fields: dict[str, bytes]) -> str:
    """The envelope recipient the provider gives: the one that is a reply address."""
    found: list[str] = []
    if "recipient" in fields:  # Mailgun: one address, or several separated by commas
        found += fields["recipient"].decode("utf-8", "replace").split(",")
    if "envelope" in fields:  # SendGrid: {"to": ["..."], "from": "..."}
        try:
            envelope = json.loads(fields["envelope"])
            to = envelope.get("to", []) if isinstance(envelope, dict) else []
        except ValueError:
            raise Malformed("envelope is not JSON") from None
        found += [a for a in (to if isinstance(to, list) else [to]) if isinstance(a, str)]
    found = [a.strip() for a in found if a.strip()]
    for address in found:
        if address.lower().startswith(f"{replies.LOCAL_PART}+"):
            return address
    return found[0] if found else ""  # none: the mail's own headers are read


def mail_of(request: HttpRequest) -> tuple[bytes, str, bool]:
    """(the raw mail, the envelope recipient or "", whether Mailgun sent it)."""
    content_type = (request.META.get("CONTENT_TYPE") or "").strip()
    kind = content_type.split(";")[0].strip().lower()
    if kind in RAW_TYPES:
        raw = _read(request, replies.MAX_BYTES)
        if not raw:
            raise Malformed("empty body")
        return raw, "", False
    if kind not in FORM_TYPES:
        raise Malformed(f"Content-Type {kind or 'missing'}")
    fields = _form(content_type, _read(request, FORM_MAX_BYTES))
    for name in MAIL_FIELDS:
        if name in fields:
            raw = fields[name]
            if len(raw) > replies.MAX_BYTES:
                raise TooLarge
            if not raw:
                raise Malformed(f"{name} is empty")
            return raw, _recipient(fields), name == "body-mime"
    raise Malformed("no body-mime or email field")


@csrf_exempt
@login_not_required
def inbound(request: HttpRequest) -> HttpResponse:
    expected = settings.SMSDESK_EMAIL_INBOUND_TOKEN
    if not expected:
        return HttpResponse(status=404)  # off: not there, whatever the method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    where = request.META.get("REMOTE_ADDR") or None
    if not constant_time_compare(_secret_given(request), expected):
        throttled = tokens.refused(where)
        log.warning("mail inbound hook: wrong secret (from %s)", where or "?")
        return _answer(429 if throttled else 401, status="unauthorized")
    try:
        raw, recipient, mailgun = mail_of(request)
    except TooLarge:
        return _answer(
            413,
            status="refused",
            reason=_("The mail is too large (more than %(size)d MB).")
            % {"size": replies.MAX_BYTES >> 20},
        )
    except Malformed as e:
        log.warning("mail inbound hook: not understood (%s), from %s", e, where or "?")
        return _answer(400, status="malformed", reason=str(e))
    try:
        outcome = replies.receive(raw, recipient=recipient)
    except replies.Refused as refused:
        reason = " ".join(refused.reason.split())
        log.info("mail inbound hook: refused: %s", reason)
        return _answer(406 if mailgun else 422, status="refused", reason=reason)
    except (OperationalError, InterfaceError) as e:
        log.warning("mail inbound hook: the database cannot be used (%s)", e)
        response = _answer(503, status="retry", reason=faults.message())
        response["Retry-After"] = str(faults.RETRY_AFTER)
        return response
    if outcome.campaign_id is None:
        return _answer(200, status="duplicate")
    return _answer(200, status="sent")
