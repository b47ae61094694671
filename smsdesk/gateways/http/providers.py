"""The providers smsdesk ships a description of, and the custom one built from options.

Each follows the provider's public API documentation (docs/gateways.md names the pages):

- OVHcloud SMS (`http:ovh`): `POST https://eu.api.ovh.com/1.0/sms/{serviceName}/jobs`, signed
  with the application key, application secret and consumer key (`X-Ovh-Signature`:
  `$1$` + SHA-1 of `secret+consumer+METHOD+URL+BODY+timestamp`); answer `{"ids": [...],
  "invalidReceivers": [...]}`; delivery reports by the account's callback URL, a GET with
  `id` and `dlr` (1 delivered, 2 and 16 failed, 4 and 8 on the way); `class: "flash"`.
- Octopush (`http:octopush`): `POST https://api.octopush.com/v1/public/sms-campaign/send`,
  headers `api-login` and `api-key`, JSON `recipients`, `text`, `type`, `purpose`, `sender`;
  answer `{"sms_ticket": ...}`; callbacks POSTed with `message_id`, `status`, `number`
  (delivery), `number`, `text`, `reception_date` (replies).
- Twilio and Twilio-compatible APIs (`twilio://SID:TOKEN@api.twilio.com`): `POST
  /2010-04-01/Accounts/{SID}/Messages.json`, HTTP basic auth, a form with `To`, `From` (or
  `MessagingServiceSid`), `Body`, `StatusCallback`; answer `{"sid": "SM…"}`, errors `{"code",
  "message"}`; callbacks form-encoded and signed (`X-Twilio-Signature`: base64 HMAC-SHA1 of
  the URL and the sorted POST fields, with the auth token); a received SMS is answered with
  an empty TwiML `<Response/>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from smsdesk.gateways.base import DeliveryState, InboundSMS, StatusReport
from smsdesk.gateways.http.client import Answer, Request
from smsdesk.gateways.http.provider import (
    Accepted,
    Auth,
    Body,
    CallbackItem,
    CallbackRequest,
    Description,
    ForgedCallback,
    Malformed,
    Refused,
    Verdict,
    _e164,
    _json,
    dig,
    hmac_equal,
    utc_from,
)

OVH_ENDPOINTS = {
    "ovh-eu": "https://eu.api.ovh.com/1.0",
    "ovh-ca": "https://ca.api.ovh.com/1.0",
    "ovh-us": "https://api.us.ovhcloud.com/1.0",
}


@dataclass(frozen=True)
class Ovh(Description):
    application_key: str = ""
    application_secret: str = ""
    consumer_key: str = ""
    clock: Any = time.time  # the signature's timestamp (OVH refuses one far from its own)
    incoming_url: str = ""  # GET: the received SMS' ids; GET/DELETE …/{id}: one of them

    def incoming(self, exchange: Any, timeouts: dict[str, float], gateway: str) -> list[InboundSMS]:
        """The received SMS OVH keeps for us (`GET /sms/{service}/incoming`, then each by
        id). Each carries its id as `handle`: deleted only once committed (`forget`)."""
        ids = _json(self._get(exchange, self.incoming_url, timeouts).body)
        if not isinstance(ids, list):
            raise ValueError("OVH's incoming list is not a list")
        found = []
        for sms_id in ids[:100]:
            data = _json(self._get(exchange, f"{self.incoming_url}/{int(sms_id)}", timeouts).body)
            if not isinstance(data, Mapping) or not data.get("sender"):
                continue
            sms = InboundSMS(
                gateway=gateway,
                sender=_e164(str(data["sender"])),
                text=str(data.get("message") or ""),
                handle=int(sms_id),
                delivery_id=f"ovh:{int(sms_id)}",
            )
            received = utc_from(data.get("creationDatetime"))
            found.append(replace(sms, received_at=received) if received else sms)
        return found

    def forget(self, exchange: Any, timeouts: dict[str, float], sms_id: int) -> None:
        request = self.sign(Request("DELETE", f"{self.incoming_url}/{int(sms_id)}"))
        answer = exchange(request, **timeouts)
        if answer.status >= 300 and answer.status != 404:
            raise ValueError(f"OVH refused to delete received SMS {sms_id}: HTTP {answer.status}")

    def _get(self, exchange: Any, url: str, timeouts: dict[str, float]) -> Answer:
        answer = exchange(self.sign(Request("GET", url)), **timeouts)
        if answer.status != 200:
            raise ValueError(f"OVH answered HTTP {answer.status}: {answer.text(120)}")
        return answer

    def sign(self, request: Request) -> Request:
        stamp = str(int(self.clock()))
        body = request.body.decode("utf-8")
        raw = "+".join(
            [self.application_secret, self.consumer_key, request.method, request.url, body, stamp]
        )
        signature = "$1$" + hashlib.sha1(raw.encode("utf-8")).hexdigest()  # noqa: S324 - OVH's
        headers = {
            **request.headers,
            "X-Ovh-Application": self.application_key,
            "X-Ovh-Consumer": self.consumer_key,
            "X-Ovh-Timestamp": stamp,
            "X-Ovh-Signature": signature,
        }
        return replace(request, headers=headers)

    def read(self, answer: Answer) -> Verdict:
        data = _json(answer.body)
        if 200 <= answer.status < 300 and isinstance(data, Mapping):
            invalid = data.get("invalidReceivers") or []
            ids = data.get("ids")
            if invalid and not ids:
                return Refused(f"OVH: invalid receiver {', '.join(map(str, invalid))}", True)
        return super().read(answer)

    def report(
        self, ref: str, state: str, params: Mapping[str, Any], *, gateway: str
    ) -> CallbackItem:
        # dlr: 1 delivered; 2 not delivered; 16 refused by the SMSC; 4 and 8: on the way.
        key = f"st:{ref}:{state}"
        if state == "1":
            return CallbackItem(key, StatusReport(gateway, ref, DeliveryState.DELIVERED))
        if state in ("2", "16"):
            why = params.get("descriptionDlr") or (
                "refused by the SMSC" if state == "16" else "not delivered"
            )
            return CallbackItem(
                key, StatusReport(gateway, ref, DeliveryState.FAILED, f"dlr {state}: {why}")
            )
        return CallbackItem(key, None)


def ovh(options: dict[str, str], take: Any) -> tuple[Description, str]:
    endpoint = take(options, "endpoint") or "ovh-eu"
    if endpoint.startswith(("https://", "http://")):
        base = endpoint.rstrip("/")  # a proxy, or a test's server
    elif endpoint in OVH_ENDPOINTS:
        base = OVH_ENDPOINTS[endpoint]
    else:
        raise ValueError(f"endpoint is one of {', '.join(OVH_ENDPOINTS)}, not {endpoint!r}")
    service = take(options, "service")
    if not service:
        raise ValueError("say the SMS account, e.g. service=sms-ab12345-1")
    keys = {k: take(options, k) for k in ("application_key", "application_secret", "consumer_key")}
    missing = [k for k, v in keys.items() if not v]
    if missing:
        raise ValueError(f"OVH needs {', '.join(missing)} (from eu.api.ovh.com/createToken)")
    sender = take(options, "from")
    fields = {"message": "{text}", "receivers.0": "{to}", "sender": "{from}"}
    typed: dict[str, Any] = {"charset": "UTF-8", "noStopClause": True, "priority": "high"}
    typed["senderForResponse"] = not sender
    return Ovh(
        name="ovh",
        url=f"{base}/sms/{quote(service)}/jobs",
        incoming_url=f"{base}/sms/{quote(service)}/incoming" if not sender else "",
        fields=fields,
        typed=typed,
        id_path="ids.0",
        error_path="message",
        status_id="id",
        status_state="dlr",
        inbound_from="senderid",
        inbound_text="message",
        inbound_id="id",
        flash_fields={"class": "flash"},
        line_down_errors=("not enough credits", "credits"),
        **keys,
    ), sender


def octopush(options: dict[str, str], take: Any) -> tuple[Description, str]:
    login, key = take(options, "login"), take(options, "api_key")
    if not login or not key:
        raise ValueError("Octopush needs login (your account's e-mail) and api_key")
    kind = take(options, "type") or "sms_premium"
    if kind not in ("sms_premium", "sms_low_cost"):
        raise ValueError(f"type is sms_premium or sms_low_cost, not {kind!r}")
    purpose = take(options, "purpose") or "alert"
    if purpose not in ("alert", "wholesale"):
        raise ValueError(f"purpose is alert (transactional) or wholesale, not {purpose!r}")
    replies = take(options, "replies") in ("1", "true", "yes")
    sender = take(options, "from")
    return Description(
        name="octopush",
        url=take(options, "url") or "https://api.octopush.com/v1/public/sms-campaign/send",
        fields={"recipients.0.phone_number": "{to}", "text": "{text}", "sender": "{from}"},
        typed={"type": kind, "purpose": purpose, "with_replies": replies},
        headers={"api-login": login, "api-key": key},
        id_path="sms_ticket",
        error_path="message",
        # The ticket the answer gave when the report names it, else its message id.
        status_id="sms_ticket|message_id",
        status_state="status",
        delivered=frozenset({"delivered"}),
        failed=frozenset(
            {
                "not_delivered",
                "not_allowed",
                "invalid_destination_address",
                "out_of_date",
                "expired",
                "blacklisted_number",
                "failed",
            }
        ),
        inbound_from="number",
        inbound_text="text",
        inbound_id="message_id",
        line_down_errors=("credit",),
    ), sender


@dataclass(frozen=True)
class Twilio(Description):
    auth_token: str = ""

    def verify(self, request: CallbackRequest) -> None:
        given = request.headers.get("x-twilio-signature", "")
        if not given:
            raise ForgedCallback("no X-Twilio-Signature")
        data = request.url
        if request.body:
            from urllib.parse import parse_qsl

            fields = sorted(
                parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            )
            data += "".join(k + v for k, v in fields)
        mac = hmac.new(self.auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
        if not hmac_equal(base64.b64encode(mac).decode(), given):
            raise ForgedCallback("X-Twilio-Signature does not match")

    def read(self, answer: Answer) -> Verdict:
        verdict = super().read(answer)
        if isinstance(verdict, Refused):
            data = _json(answer.body)
            code = dig(data, "code") if data is not None else None
            message = dig(data, "message") if data is not None else None
            if code is not None:
                return Refused(f"Twilio {code}: {message or answer.text(200)}", True)
        return verdict


def twilio(target: str, options: dict[str, str], take: Any) -> tuple[Description, str]:
    example = "twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B33…"
    if not target.startswith("//"):
        raise ValueError(f"write it {example}")
    url = urlsplit("https:" + target)
    sid, token = unquote(url.username or ""), unquote(url.password or "")
    if not sid or not token or not url.hostname:
        raise ValueError(f"say the account SID, the auth token and the host: {example}")
    scheme = "http" if take(options, "tls") in ("0", "false", "no") else "https"
    port = f":{url.port}" if url.port else ""
    base = f"{scheme}://{url.hostname}{port}"
    sender = take(options, "from")
    service = take(options, "messaging_service")
    if not sender and not service:
        raise ValueError("say from= (your Twilio number or sender) or messaging_service=MG…")
    fields = {"To": "{to}", "Body": "{text}"}
    if service:
        fields["MessagingServiceSid"] = service
    else:
        fields["From"] = "{from}"
    status_callback = take(options, "status_callback")
    if status_callback:
        fields["StatusCallback"] = status_callback
    return Twilio(
        name="twilio",
        url=f"{base}/2010-04-01/Accounts/{quote(sid)}/Messages.json",
        body=Body.FORM,
        fields=fields,
        auth=Auth.BASIC,
        user=sid,
        password=token,
        auth_token=token,
        id_path="sid",
        error_path="message",
        status_id="MessageSid",
        status_state="MessageStatus",
        status_error="ErrorCode",
        delivered=frozenset({"delivered"}),
        failed=frozenset({"failed", "undelivered"}),
        inbound_from="From",
        inbound_to="To",
        inbound_text="Body",
        inbound_id="MessageSid",
        callback_answer=(
            "text/xml; charset=utf-8",
            b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
        ),
        line_down_errors=("20003", "21606", "30002"),  # auth, from not ours, suspended
    ), sender


def custom(options: dict[str, str], take: Any) -> tuple[Description, str]:
    """`http:custom?url=…&method=POST&body=json&field.to={to}&field.message={text}&…`."""
    url = take(options, "url")
    if not url.startswith(("http://", "https://")):
        raise ValueError("say the provider's url=https://… (URL-encoded)")
    method = (take(options, "method") or "POST").upper()
    if method not in ("GET", "POST", "PUT"):
        raise ValueError(f"method is GET, POST or PUT, not {method!r}")
    body = take(options, "body") or ("none" if method == "GET" else "json")
    if body not in ("json", "form", "none"):
        raise ValueError(f"body is json, form or none, not {body!r}")
    auth = take(options, "auth") or "none"
    if auth not in {a.value for a in Auth}:
        raise ValueError(f"auth is one of {', '.join(a.value for a in Auth)}, not {auth!r}")
    fields = {k[6:]: options.pop(k) for k in list(options) if k.startswith("field.")}
    headers = {k[7:]: options.pop(k) for k in list(options) if k.startswith("header.")}
    if not fields and method != "GET":
        raise ValueError("say the fields sent, e.g. field.to={to}&field.text={text}")
    token = take(options, "token")
    password = take(options, "password")
    if auth in ("bearer", "header", "query") and not token:
        raise ValueError(f"auth={auth} needs token=")
    if auth == "basic" and not password:
        raise ValueError("auth=basic needs user= and password=")
    delivered = _words(take(options, "delivered") or "delivered,delivrd")
    failed = _words(take(options, "failed") or "failed,undelivered,undeliv,rejectd,expired")
    flash_field = take(options, "flash_field")
    flash_fields: dict[str, Any] = {}
    if flash_field:
        name, _, value = flash_field.partition(":")
        flash_fields[name] = value or "1"
    return Description(
        name="custom",
        url=url,
        method=method,
        body=Body(body),
        fields=fields,
        headers=headers,
        auth=Auth(auth),
        user=take(options, "user"),
        password=password,
        token=token,
        auth_header=take(options, "auth_header") or "X-Api-Key",
        auth_param=take(options, "auth_param") or "api_key",
        id_path=take(options, "id_path") or "id",
        error_path=take(options, "error_path") or "error",
        status_id=take(options, "status_id") or "id",
        status_state=take(options, "status_state") or "status",
        status_error=take(options, "status_error"),
        inbound_from=take(options, "inbound_from") or "from",
        inbound_to=take(options, "inbound_to") or "to",
        inbound_text=take(options, "inbound_text") or "text",
        inbound_id=take(options, "inbound_id") or "id",
        flash_fields=flash_fields,
        delivered=delivered,
        failed=failed,
    ), take(options, "from")


def _words(raw: str) -> frozenset[str]:
    return frozenset(w.strip().lower() for w in raw.split(",") if w.strip())


_ = Accepted, Malformed  # re-exported for the tests' readability
