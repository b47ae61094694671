"""The GSM modem gateway: AT commands in PDU mode over a serial port (TS 27.005 / 27.007).

Layers, bottom up: `at` (the port, lines, URCs, one command at a time), `session` (what a
modem can do, in AT commands), `gateway` (policy: sending part by part, events, recovery),
`probe` (what an installer needs to know about a device).

Configured as `SMSDESK_GATEWAYS="modem:/dev/ttyUSB0?pin=1234&baud=115200"`.
"""

from __future__ import annotations

from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.modem.gateway import ModemGateway, Timeouts
from smsdesk.gateways.registry import GatewaySpec, register

__all__ = ["ModemGateway", "Timeouts", "build_modem"]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@register("modem", shareable=False)
def build_modem(spec: GatewaySpec) -> ModemGateway:
    """`modem:DEVICE?pin=&baud=&smsc=&hangup=&report=&health_every=&timeout=&send_timeout=`"""
    if not spec.target:
        raise GatewayError(f"gateway {spec.name}: say which port, e.g. modem:/dev/ttyUSB0")
    opts = dict(spec.options)
    try:
        pin = opts.pop("pin", "").strip()
        if pin and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("pin is 4 to 8 digits")
        smsc = opts.pop("smsc", "").strip()
        if smsc and not smsc.startswith("+"):
            smsc = "+" + smsc.lstrip()  # '+' reads as a space in a query string
        defaults = Timeouts()
        gateway = ModemGateway(
            spec.name,
            spec.target,
            baud=int(opts.pop("baud", "115200")),
            pin=pin,
            smsc=smsc,
            hangup=_bool(opts.pop("hangup"), "hangup") if "hangup" in opts else spec.hang_up_calls,
            report=_bool(opts.pop("report", "true"), "report"),
            health_every=float(opts.pop("health_every", "60")),
            rate=float(opts["rate"]) if opts.get("rate") else None,
            timeouts=Timeouts(
                command=float(opts.pop("timeout", defaults.command)),
                send=float(opts.pop("send_timeout", defaults.send)),
            ),
        )
        opts.pop("rate", None)
    except ValueError as e:
        raise GatewayError(f"gateway {spec.name}: {e}") from None
    if opts:
        raise GatewayError(f"gateway {spec.name}: unknown option(s) {', '.join(sorted(opts))}")
    return gateway


def _bool(raw: str, name: str) -> bool:
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ValueError(f"{name} is true or false, not {raw!r}")
