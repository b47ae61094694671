"""Building gateways from the `SMSDESK_GATEWAYS` setting.

Each entry is `[NAME=]KIND[:TARGET][?OPTION=VALUE&...]`, for example:

    simulator
    sim=simulator?delivery_delay=0.5&rate=50&fail_permanent=+33600000001
    modem=modem:/dev/ttyUSB0?baud=115200&pin=1234

NAME defaults to KIND. The first entry sends the messages that name no gateway.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from smsdesk.gateways.base import Gateway, GatewayError
from smsdesk.gateways.simulator import SimulatorGateway


@dataclass(frozen=True)
class GatewaySpec:
    name: str
    kind: str
    target: str = ""
    options: dict[str, str] = field(default_factory=dict)


KINDS = ("simulator",)
Factory = Callable[[GatewaySpec], Gateway]
_FACTORIES: dict[str, Factory] = {}


def register(kind: str) -> Callable[[Factory], Factory]:
    """`@register("modem")` on a factory `(spec) -> Gateway` makes the kind known."""

    def decorate(factory: Factory) -> Factory:
        global KINDS
        _FACTORIES[kind] = factory
        if kind not in KINDS:
            KINDS = (*KINDS, kind)
        return factory

    return decorate


def parse_spec(entry: str) -> GatewaySpec:
    entry = entry.strip()
    name = ""
    head, _, query = entry.partition("?")
    if "=" in head:
        name, _, head = head.partition("=")
    kind, _, target = head.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise GatewayError(f"gateway {entry!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    name = (name or kind).strip()
    if not name.replace("-", "").replace("_", "").isalnum():
        raise GatewayError(f"gateway {entry!r}: a name uses letters, digits, - and _ only")
    return GatewaySpec(name=name, kind=kind, target=target, options=options)


def parse_specs(entries: list[str]) -> list[GatewaySpec]:
    specs = [parse_spec(e) for e in entries]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GatewayError(f"two gateways are named {', '.join(duplicates)}")
    if not specs:
        raise GatewayError("no gateway configured (SMSDESK_GATEWAYS is empty)")
    return specs


def build(spec: GatewaySpec) -> Gateway:
    if spec.kind in _FACTORIES:
        return _FACTORIES[spec.kind](spec)
    opts = dict(spec.options)
    try:
        gateway = SimulatorGateway(
            spec.name,
            rate=_float(opts.pop("rate", "")),
            batch_size=int(opts.pop("batch_size", "500")),
            delivery_delay=float(opts.pop("delivery_delay", "1")),
            latency=float(opts.pop("latency", "0")),
            hang_after=_int(opts.pop("hang_after", "")),
            fail_permanent=_numbers(opts.pop("fail_permanent", "")),
            fail_temporary=_numbers(opts.pop("fail_temporary", "")),
            undeliverable=_numbers(opts.pop("undeliverable", "")),
            log=opts.pop("log", "") or None,
        )
    except ValueError as e:
        raise GatewayError(f"gateway {spec.name}: {e}") from None
    if opts:
        raise GatewayError(f"gateway {spec.name}: unknown option(s) {', '.join(sorted(opts))}")
    return gateway


def _int(raw: str) -> int | None:
    return int(raw) if raw else None


def _float(raw: str) -> float | None:
    return float(raw) if raw else None


def _numbers(raw: str) -> list[str]:
    # '+' in a query string reads as a space: numbers are E.164, so put it back.
    return ["+" + n.strip().lstrip("+ ") for n in raw.split(",") if n.strip()]


# The built-in kinds register themselves on import; one that is not there is simply unknown.
for _module in ("smsdesk.gateways.modem",):
    with contextlib.suppress(ImportError):
        importlib.import_module(_module)
