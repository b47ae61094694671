"""SMSGate (capcom6's "SMS Gateway for Android"): a phone sends and receives, local or cloud.

Its maintained Python client, `android-sms-gateway` (pinned in pyproject.toml), builds the
request (its `APIClient.send`: the URL, the authentication, the message's wire format) and
reads the answer (`MessageState`). We give it our own HTTP layer (`http=`, its `HttpClient`
protocol) instead of its requests/httpx ones: theirs raise one `APIError` for a refused
connection and for an answer that never came, and drop `Retry-After`; ours says whether
anything left us (gateways/http/client.py), which decides between `queued` again and
`unknown`. Its webhooks are checked here (X-Signature: hex HMAC-SHA256 of the raw body
followed by X-Timestamp, with the app's signing key; a timestamp more than 5 minutes away is
refused) and read by their envelope (`event`, `id`, `payload`).

Configured as `smsgate://LOGIN:PASSWORD@192.168.1.10:8080?tls=0` (local mode: the phone's
own server) or `smsgate://LOGIN:PASSWORD@api.sms-gate.app` (cloud: `/3rdparty/v1` added).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from android_sms_gateway import client as asg_client
from android_sms_gateway import domain as asg_domain
from android_sms_gateway.enums import ProcessState

from smsdesk.gateways.base import DeliveryState, InboundSMS, OutboundSMS, SendResult, StatusReport
from smsdesk.gateways.http import client
from smsdesk.gateways.http.gateway import HttpGateway
from smsdesk.gateways.http.provider import (
    BadCallback,
    CallbackItem,
    CallbackRequest,
    Description,
    ForgedCallback,
    _e164,
    utc_from,
)

CLOUD_HOST = "api.sms-gate.app"
FRESH_SECONDS = 300


class _Status(Exception):
    """A non-2xx answer, kept whole for the gateway's rules (429, 5xx, 401...)."""

    def __init__(self, answer: client.Answer) -> None:
        super().__init__(f"HTTP {answer.status}")
        self.answer = answer


class _Transport:
    """android-sms-gateway's `HttpClient` protocol over our exchange."""

    def __init__(self, connect_timeout: float, read_timeout: float, exchange: Any) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._exchange = exchange

    def _call(self, method: str, url: str, payload: Any, headers: dict[str, str] | None) -> Any:
        body = b"" if payload is None else json.dumps(payload).encode()
        answer = self._exchange(
            client.Request(method, url, dict(headers or {}), body),
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )
        if not 200 <= answer.status < 300:
            raise _Status(answer)
        if not answer.body.strip():
            return {}
        return json.loads(answer.body.decode("utf-8"))

    def get(self, url: str, *, headers: dict[str, str] | None = None) -> dict:
        return self._call("GET", url, None, headers)

    def get_bytes(self, url: str, *, headers: dict[str, str] | None = None) -> bytes:
        raise NotImplementedError

    def post(self, url: str, payload: dict, *, headers: dict[str, str] | None = None) -> dict:
        return self._call("POST", url, payload, headers)

    def put(self, url: str, payload: dict, *, headers: dict[str, str] | None = None) -> dict:
        return self._call("PUT", url, payload, headers)

    def patch(self, url: str, payload: dict, *, headers: dict[str, str] | None = None) -> dict:
        return self._call("PATCH", url, payload, headers)

    def delete(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        self._call("DELETE", url, None, headers)

    def __enter__(self) -> _Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass(frozen=True)
class SmsGateWebhooks(Description):
    signing_key: str = ""

    def verify(self, request: CallbackRequest) -> None:
        if not self.signing_key:
            return  # the URL's secret alone (docs/gateways.md says to set the key)
        signature = request.headers.get("x-signature", "")
        stamp = request.headers.get("x-timestamp", "")
        if not signature or not stamp.isdigit():
            raise ForgedCallback("no X-Signature / X-Timestamp")
        if abs(request.now - int(stamp)) > FRESH_SECONDS:
            raise ForgedCallback("X-Timestamp more than 5 minutes away")
        mac = hmac.new(self.signing_key.encode(), request.body + stamp.encode(), "sha256")
        if not hmac.compare_digest(mac.hexdigest().encode(), signature.strip().lower().encode()):
            raise ForgedCallback("X-Signature does not match")

    def callback(self, request: CallbackRequest, *, gateway: str) -> list[CallbackItem]:
        self.verify(request)
        try:
            envelope = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadCallback("not JSON") from None
        if not isinstance(envelope, Mapping) or not isinstance(envelope.get("payload"), Mapping):
            raise BadCallback("no event envelope")
        event, event_id, payload = (
            envelope.get("event"),
            str(envelope.get("id") or ""),
            envelope["payload"],
        )
        if event == "sms:received":
            sender, text = (
                payload.get("phoneNumber") or payload.get("sender"),
                payload.get("message"),
            )
            if not sender or not isinstance(text, str):
                raise BadCallback("sms:received without phoneNumber or message")
            sms = InboundSMS(
                gateway=gateway,
                sender=_e164(str(sender)),
                text=text,
                delivery_id=f"smsgate:{event_id}" if event_id else "",
            )
            received = utc_from(payload.get("receivedAt"))
            if received is not None:
                sms = replace(sms, received_at=received)
            return [CallbackItem(f"in:{event_id}" if event_id else "", sms)]
        ref = str(payload.get("messageId") or "")
        if event in ("sms:delivered", "sms:failed", "sms:sent"):
            if not ref:
                raise BadCallback(f"{event} without messageId")
            key = f"st:{ref}:{event}:{payload.get('phoneNumber') or ''}"
            if event == "sms:delivered":
                return [CallbackItem(key, StatusReport(gateway, ref, DeliveryState.DELIVERED))]
            if event == "sms:failed":
                reason = str(payload.get("reason") or "failed")[:200]
                return [CallbackItem(key, StatusReport(gateway, ref, DeliveryState.FAILED, reason))]
            return [CallbackItem(key, None)]
        return [CallbackItem(f"other:{event_id}", None)]  # system:ping, mms:…: nothing to do


class SmsGateGateway(HttpGateway):
    kind = "smsgate"

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        login: str,
        password: str,
        signing_key: str = "",
        sim: int | None = None,
        **kwargs: Any,
    ) -> None:
        webhooks = SmsGateWebhooks(
            name="smsgate", url=base_url, error_path="message", signing_key=signing_key
        )
        super().__init__(name, webhooks, **kwargs)
        self.base_url = base_url
        self.sim = sim
        self.api = asg_client.APIClient(
            login,
            password,
            base_url=base_url,
            http=_Transport(self.connect_timeout, self.timeout, self._exchange),
        )

    def _attempt(self, sms: OutboundSMS) -> SendResult | None:
        # Our id, known before the request: a webhook after an unanswered request still counts.
        ref = f"sd{sms.id}-{secrets.token_hex(4)}"
        message = asg_domain.Message(
            phone_numbers=[sms.to],
            text_message=asg_domain.TextMessage(text=sms.text),
            with_delivery_report=sms.report,
            sim_number=self.sim,
            id=ref,
        )
        try:
            state = self.api.send(message)
        except client.NotSent as e:
            self._stop_line(str(e))
            return SendResult.not_handed_over(sms.id, str(e))
        except client.NoAnswer as e:
            return SendResult.maybe(sms.id, f"{e}: it may have been taken", refs=[ref])
        except _Status as e:
            return self._judge(sms, e.answer)
        except (KeyError, ValueError, TypeError) as e:
            return SendResult.maybe(
                sms.id, f"unreadable answer ({e!r}): it may have been taken", refs=[ref]
            )
        if state.state is ProcessState.Failed:
            why = "; ".join(r.error or "" for r in state.recipients if r.error) or "failed"
            return SendResult.refused(sms.id, f"SMSGate: {why}", permanent=True)
        return SendResult.ok(sms.id, state.id or ref)


def build(
    name: str, target: str, options: dict[str, str], take: Any, common: dict[str, Any]
) -> SmsGateGateway:
    example = "smsgate://LOGIN:PASSWORD@192.168.1.10:8080?tls=0 or smsgate://LOGIN:PASSWORD@api.sms-gate.app"
    if not target.startswith("//"):
        raise ValueError(f"write it {example}")
    url = urlsplit("https:" + target)
    login, password = unquote(url.username or ""), unquote(url.password or "")
    if not login or not password or not url.hostname:
        raise ValueError(f"say the login, the password and the host: {example}")
    tls = take(options, "tls") not in ("0", "false", "no")
    try:
        port = f":{url.port}" if url.port else ""
    except ValueError:
        raise ValueError("the port is a number from 1 to 65535") from None
    path = url.path.rstrip("/")
    if not path and url.hostname == CLOUD_HOST:
        path = "/3rdparty/v1"
    base = f"{'https' if tls else 'http'}://{url.hostname}{port}{path}"
    sim_raw = take(options, "sim")
    if sim_raw and sim_raw not in ("1", "2", "3"):
        raise ValueError(f"sim is 1, 2 or 3, not {sim_raw!r}")
    return SmsGateGateway(
        name,
        base_url=base,
        login=login,
        password=password,
        signing_key=take(options, "signing_key"),
        sim=int(sim_raw) if sim_raw else None,
        **common,
    )
