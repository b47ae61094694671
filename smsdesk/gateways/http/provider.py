"""A provider described by configuration: how to ask it to send, how to read its answer, how
its callbacks (received SMS, delivery states) map back to smsdesk's events.

`Description` is data (the shipped providers in `providers.py` are descriptions, and
`http:custom?…` builds one from the line's options); the few things data cannot say (OVH's
request signature, Twilio's and SMSGate's callback signatures, SMSGate's envelope) are hooks
on a subclass. No Django here: the web endpoint (worker/callbacks.py) hands a
`CallbackRequest` over and stores what comes back.
"""

from __future__ import annotations

import base64
import enum
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from smsdesk.gateways.base import DeliveryState, InboundSMS, OutboundSMS, StatusReport
from smsdesk.gateways.http.client import Answer, Request


class Auth(enum.StrEnum):
    NONE = "none"
    BASIC = "basic"  # user + password
    BEARER = "bearer"  # Authorization: Bearer token
    HEADER = "header"  # <auth_header>: token (an API key header)
    QUERY = "query"  # ?<auth_param>=token


class Body(enum.StrEnum):
    JSON = "json"
    FORM = "form"
    NONE = "none"  # GET: the fields go in the query string


class ForgedCallback(Exception):
    """The callback does not carry the provider's signature (or carries a wrong one)."""


class BadCallback(Exception):
    """The callback is not one this provider sends (missing fields, unreadable body)."""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """What the web endpoint received, without Django."""

    method: str
    url: str  # absolute, as the provider called it (Twilio signs it)
    headers: Mapping[str, str]  # names in lower case
    query: Mapping[str, str]
    body: bytes
    content_type: str = ""
    now: float = 0.0  # seconds since the epoch (signature freshness)


@dataclass(frozen=True, slots=True)
class CallbackItem:
    """One thing a callback told us; `key` identifies it for "stored once" (the provider's
    id of the SMS or of the report, and its kind). `event` None: understood and ignored (an
    intermediate state such as Twilio's `sending`)."""

    key: str
    event: InboundSMS | StatusReport | None


@dataclass(frozen=True, slots=True)
class Accepted:
    reference: str


@dataclass(frozen=True, slots=True)
class Refused:
    error: str
    permanent: bool


@dataclass(frozen=True, slots=True)
class Malformed:
    """A 2xx answer we cannot read: the provider may have taken the message."""

    error: str


Verdict = Accepted | Refused | Malformed


def dig(data: Any, path: str) -> Any:
    """`data` at a dotted path (`ids.0`, `error.message`); None when absent. Alternatives
    are separated by `|` (`sms_ticket|message_id`): the first present."""
    if "|" in path:
        for choice in path.split("|"):
            found = dig(data, choice)
            if found not in (None, ""):
                return found
        return None
    for part in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _place(target: dict[str, Any], path: str, value: Any) -> None:
    """Put `value` at a dotted path, making objects (and lists, for a numeric part)."""
    parts = path.split(".")
    node: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        following = None if last else parts[i + 1]
        blank: Any = [] if following is not None and following.isdigit() else {}
        if isinstance(node, list):
            index = int(part)
            while len(node) <= index:
                node.append(None)
            if last:
                node[index] = value
            else:
                if node[index] is None:
                    node[index] = blank
                node = node[index]
        else:
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, blank)


_PLACEHOLDER = re.compile(r"\{(to|to_digits|to_00|text|from|id|flash)\}")


def render(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], ""), template)


@dataclass(frozen=True)
class Description:
    """A provider's HTTP API, as data."""

    name: str
    url: str  # may hold {to} etc.
    method: str = "POST"
    body: Body = Body.JSON
    # path in the body (or the query for GET) -> template; a value "true"/"false"/a number in
    # a JSON body stays a string unless `typed` names the path.
    fields: Mapping[str, str] = field(default_factory=dict)
    typed: Mapping[str, Any] = field(default_factory=dict)  # path -> a JSON value as is
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: Auth = Auth.NONE
    user: str = ""
    password: str = ""
    token: str = ""
    auth_header: str = "X-Api-Key"
    auth_param: str = "api_key"
    id_path: str = "id"  # where the answer gives the message's id
    error_path: str = "error"  # where an error answer says why
    # Delivery-state callbacks: the id, the state, the error, and which states mean what.
    status_id: str = "id"
    status_state: str = "status"
    status_error: str = ""
    delivered: frozenset[str] = frozenset({"delivered"})
    failed: frozenset[str] = frozenset({"failed", "undelivered"})
    # Received-SMS callbacks.
    inbound_from: str = "from"
    inbound_to: str = "to"  # the number or name it was sent to (a shared line's sender)
    inbound_text: str = "text"
    inbound_id: str = "id"
    # Flash SMS: the fields added to the request for a class 0 message (empty: not offered).
    flash_fields: Mapping[str, Any] = field(default_factory=dict)
    # What the endpoint answers to a callback (Twilio wants TwiML).
    callback_answer: tuple[str, bytes] = ("text/plain; charset=utf-8", b"OK")
    # Provider's own error codes (in the error text) meaning "the line cannot send now":
    # no credit, account suspended. The messages wait; the line shows down.
    line_down_errors: tuple[str, ...] = ()

    @property
    def supports_flash(self) -> bool:
        return bool(self.flash_fields)

    # --- sending ------------------------------------------------------------------------

    def values(self, sms: OutboundSMS, sender: str) -> dict[str, str]:
        digits = sms.to.lstrip("+")
        return {
            "to": sms.to,
            "to_digits": digits,
            "to_00": "00" + digits,
            "text": sms.text,
            "from": sender,
            "id": str(sms.id),
            "flash": "1" if getattr(sms, "flash", False) else "0",
        }

    def build(self, sms: OutboundSMS, sender: str) -> Request:
        values = self.values(sms, sender)
        url = render(self.url, {k: quote(v, safe="+") for k, v in values.items()})
        payload: dict[str, Any] = {}
        for path, template in self.fields.items():
            rendered = render(template, values)
            if rendered == "" and "{from}" in template:
                continue  # no sender configured: the provider's default
            _place(payload, path, rendered)
        for path, value in self.typed.items():
            _place(payload, path, value)
        if getattr(sms, "flash", False):
            for path, value in self.flash_fields.items():
                _place(payload, path, value)
        headers = {k: render(v, values) for k, v in self.headers.items()}
        query: list[tuple[str, str]] = []
        if self.auth is Auth.BASIC:
            pair = f"{self.user}:{self.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif self.auth is Auth.BEARER:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.auth is Auth.HEADER:
            headers[self.auth_header] = self.token
        elif self.auth is Auth.QUERY:
            query.append((self.auth_param, self.token))
        body = b""
        if self.body is Body.JSON:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        elif self.body is Body.FORM:
            body = urlencode(_flat(payload)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            query.extend(_flat(payload))
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        return self.sign(Request(self.method, url, headers, body))

    def sign(self, request: Request) -> Request:
        """A hook for providers that sign each request (OVH)."""
        return request

    def read(self, answer: Answer) -> Verdict:
        """A 2xx answer, or a 4xx the gateway leaves to the provider: its id, or why not."""
        data = _json(answer.body)
        if 200 <= answer.status < 300:
            if data is None:
                return Malformed(f"HTTP {answer.status}, not JSON: {answer.text(120)!r}")
            reference = dig(data, self.id_path)
            usable = isinstance(reference, (str, int)) and not isinstance(reference, bool)
            if usable and str(reference):
                return Accepted(str(reference))
            error = dig(data, self.error_path)
            if error:
                return Refused(str(error)[:300], permanent=True)
            return Malformed(f"HTTP {answer.status} without {self.id_path!r}: {answer.text(120)!r}")
        error = dig(data, self.error_path) if data is not None else None
        why = str(error)[:300] if error else answer.text(200) or "no reason given"
        return Refused(f"HTTP {answer.status}: {why}", permanent=True)

    # --- callbacks ----------------------------------------------------------------------

    def verify(self, request: CallbackRequest) -> None:
        """Raise ForgedCallback when the provider signs its callbacks and this one's
        signature is missing or wrong (the URL's secret was checked already)."""

    def callback(self, request: CallbackRequest, *, gateway: str) -> list[CallbackItem]:
        self.verify(request)
        params = callback_params(request)
        return [self._one(params, gateway=gateway)]

    def _one(self, params: Mapping[str, Any], *, gateway: str) -> CallbackItem:
        state = _plain(dig(params, self.status_state)) if self.status_state else None
        ref = _plain(dig(params, self.status_id))
        text = dig(params, self.inbound_text)
        if state and ref and text is None:
            return self.report(ref, state, params, gateway=gateway)
        sender = _plain(dig(params, self.inbound_from))
        if isinstance(text, str) and sender:
            sms_id = _plain(dig(params, self.inbound_id))
            key = f"in:{sms_id}" if sms_id else ""
            return CallbackItem(
                key,
                InboundSMS(
                    gateway=gateway,
                    sender=_e164(sender),
                    text=text,
                    delivery_id=f"{self.name}:{sms_id}" if key else "",
                    destination=_plain(dig(params, self.inbound_to)) or "",
                ),
            )
        raise BadCallback("neither a delivery state nor a received SMS")

    def report(
        self, ref: str, state: str, params: Mapping[str, Any], *, gateway: str
    ) -> CallbackItem:
        key = f"st:{ref}:{state}"
        lowered = state.strip().lower()
        if lowered in self.delivered:
            return CallbackItem(key, StatusReport(gateway, ref, DeliveryState.DELIVERED))
        if lowered in self.failed:
            error = dig(params, self.status_error) if self.status_error else None
            detail = f"{state}" + (f" ({error})" if error not in (None, "") else "")
            return CallbackItem(key, StatusReport(gateway, ref, DeliveryState.FAILED, detail))
        return CallbackItem(key, None)


def _plain(value: Any) -> str:
    """A callback's scalar field as text ("" for anything else: an object, a list)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value)[:200]


def _flat(payload: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in payload.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.extend(_flat(value, name))
        elif isinstance(value, list):
            out.extend((name, _scalar(v)) for v in value)
        else:
            out.append((name, _scalar(value)))
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _e164(number: str) -> str:
    """A provider's sender as smsdesk stores it: 0033… and 33… (11+ digits) as +33…."""
    number = number.strip()
    if number.startswith("00") and number[2:].isdigit():
        return "+" + number[2:]
    if number.isdigit() and len(number) >= 11:
        return "+" + number
    return number


def callback_params(request: CallbackRequest) -> dict[str, Any]:
    """The callback's fields: the query string, then a form or JSON body (a JSON list's
    first object)."""
    params: dict[str, Any] = dict(request.query)
    if request.body:
        kind = request.content_type.split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadCallback("a form body that is not UTF-8") from None
            params.update(parse_qsl(text, keep_blank_values=True))
        else:
            data = _json(request.body)
            if isinstance(data, list) and data and isinstance(data[0], Mapping):
                data = data[0]
            if not isinstance(data, Mapping):
                raise BadCallback("a body that is neither a form nor a JSON object")
            params.update(data)
    return params


def hmac_equal(expected: str | bytes, given: str | bytes) -> bool:
    """Constant-time comparison of two signatures."""
    a = expected.encode() if isinstance(expected, str) else expected
    b = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(a, b)


def utc_from(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


OptionReader = Callable[[dict[str, str], str], str]
Fields = Sequence[tuple[str, str]]
