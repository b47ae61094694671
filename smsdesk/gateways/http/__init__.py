"""HTTP SMS providers and SMSGate (Android phones), configured in SMSDESK_GATEWAYS:

    sms=http:ovh?service=sms-ab12345-1&application_key=…&application_secret=…&consumer_key=…&from=MYSHOP
    sms=http:octopush?login=me%40example.fr&api_key=…&from=MYSHOP
    sms=http:custom?url=https%3A%2F%2Fapi.example%2Fsms&auth=bearer&token=…&field.to={to}&field.text={text}
    us=twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B33612345678
    phone=smsgate://LOGIN:PASSWORD@192.168.1.10:8080?tls=0&signing_key=…

Options every one of them takes: `concurrency` (requests at a time, 4), `timeout` (seconds to
wait for an answer, 10), `connect_timeout` (5), `patience` (seconds of 429 waits in one
hand-over before the line rests, 60), `rate` (messages a second at most). docs/gateways.md
has each provider's options and the callback URL to give it.

Layers: `client` (one exchange: did anything leave?), `provider` (a provider as data:
request, answer, callbacks), `providers` (OVH, Octopush, Twilio, custom), `gateway` (the
line: results by the worker's rules), `smsgate` (SMSGate through android-sms-gateway).
"""

from __future__ import annotations

from typing import Any

from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.http.gateway import HttpGateway
from smsdesk.gateways.http.provider import BadCallback, CallbackRequest, ForgedCallback
from smsdesk.gateways.registry import GatewaySpec, register

__all__ = ["BadCallback", "CallbackRequest", "ForgedCallback", "HttpGateway"]

PROVIDERS = ("ovh", "octopush", "custom")


def _take(options: dict[str, str], key: str) -> str:
    return options.pop(key, "").strip()


def _common(options: dict[str, str]) -> dict[str, Any]:
    raw_from = options.get("from", "")
    if raw_from[:1] == " " and raw_from.strip().isdigit():
        options["from"] = "+" + raw_from.strip()  # '+' reads as a space in a query string

    def number(key: str, default: float, low: float, high: float) -> float:
        raw = _take(options, key)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise ValueError(f"{key} must be a number from {low:g} to {high:g}, not {raw!r}")
        return value

    rate = number("rate", 0.0, 0.01, 10_000) if options.get("rate", "").strip() else None
    return {
        "concurrency": int(number("concurrency", 4, 1, 64)),
        "timeout": number("timeout", 10.0, 0.5, 300),
        "connect_timeout": number("connect_timeout", 5.0, 0.5, 120),
        "patience": number("patience", 60.0, 0, 3600),
        "poll_every": number("poll", 30.0, 1, 3600),
        "rate": rate,
    }


def _refuse_unknown(options: dict[str, str]) -> None:
    if options:
        raise ValueError(f"unknown option(s) {', '.join(sorted(options))}")


@register("http")
def build_http(spec: GatewaySpec) -> HttpGateway:
    """`http:PROVIDER?options` (PROVIDER: ovh, octopush, custom)."""
    from smsdesk.gateways.http import providers

    options = dict(spec.options)
    name = spec.target.strip().lower()
    try:
        common = _common(options)
        if name == "ovh":
            description, sender = providers.ovh(options, _take)
        elif name == "octopush":
            description, sender = providers.octopush(options, _take)
        elif name == "custom":
            description, sender = providers.custom(options, _take)
        else:
            raise ValueError(
                f"say which provider: http:{'|'.join(PROVIDERS)} (not {spec.target!r}); "
                "Twilio is twilio://SID:TOKEN@api.twilio.com, SMSGate smsgate://…"
            )
        _refuse_unknown(options)
    except ValueError as e:
        raise GatewayError(f"gateway {spec.name}: {e}") from None
    return HttpGateway(spec.name, description, sender=sender, **common)


@register("twilio")
def build_twilio(spec: GatewaySpec) -> HttpGateway:
    """`twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=…` (or a compatible API's host)."""
    from smsdesk.gateways.http import providers

    options = dict(spec.options)
    try:
        common = _common(options)
        description, sender = providers.twilio(spec.target, options, _take)
        _refuse_unknown(options)
    except ValueError as e:
        raise GatewayError(f"gateway {spec.name}: {e}") from None
    gateway = HttpGateway(spec.name, description, sender=sender, **common)
    gateway.kind = "twilio"
    return gateway


@register("smsgate", shareable=False)  # an Android phone: one SIM
def build_smsgate(spec: GatewaySpec) -> HttpGateway:
    """`smsgate://LOGIN:PASSWORD@host[:port][/path]?tls=0&signing_key=…&sim=1`."""
    from smsdesk.gateways.http import smsgate

    options = dict(spec.options)
    try:
        common = _common(options)
        gateway = smsgate.build(spec.name, spec.target, options, _take, common)
        _refuse_unknown(options)
    except ValueError as e:
        raise GatewayError(f"gateway {spec.name}: {e}") from None
    return gateway
