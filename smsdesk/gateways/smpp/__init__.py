"""The SMPP 3.4 client gateway: binds to an operator's or an aggregator's SMSC.

Layers, bottom up: `pdu` (the PDUs, on smpp34's codec; texts, receipts), `session` (one
bind: a TCP connection, its reader thread, enquire_link, reconnection), `gateway` (a line
of binds: windows, pace, throttling, results, receipts and inbound SMS).

Configured as
`SMSDESK_GATEWAYS="op=smpp://system_id:password@host:2775?system_type=&window=10&tps=50&source=MYSHOP"`;
every option is in docs/gateways.md ("SMPP").
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.registry import GatewaySpec, masked, register
from smsdesk.gateways.smpp.gateway import LineConfig, SmppGateway
from smsdesk.gateways.smpp.pdu import Addressing
from smsdesk.gateways.smpp.session import SessionConfig

__all__ = ["SmppGateway", "build_smpp", "line_config"]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9 ._-]{1,11}$")


@register("smpp")
def build_smpp(spec: GatewaySpec) -> SmppGateway:
    """`smpp://system_id:password@host:port?options` (see docs/gateways.md)."""
    return SmppGateway(spec.name, line_config(spec))


def line_config(spec: GatewaySpec) -> LineConfig:
    try:
        return _line_config(spec)
    except ValueError as e:
        raise GatewayError(f"gateway {spec.name}: {e}") from None


def _line_config(spec: GatewaySpec) -> LineConfig:
    example = "smpp://system_id:password@host:2775"
    if not spec.target.startswith("//"):
        raise ValueError(f"say where the SMSC is, e.g. {example}")
    url = urlsplit("smpp:" + spec.target)
    try:
        port = url.port or 2775
    except ValueError:
        raise ValueError(
            f"the port of {masked('smpp:' + spec.target)!r} is not a number from 1 to 65535"
        ) from None
    host = url.hostname or ""
    if not host:
        raise ValueError(f"say which host the SMSC is on, e.g. {example}")
    system_id = unquote(url.username or "")
    password = unquote(url.password or "")
    if not system_id:
        raise ValueError(f"say the system_id the SMSC gave you, e.g. {example}")
    if len(system_id) > 15:
        raise ValueError("system_id is at most 15 characters (SMPP 3.4)")
    if len(password) > 8:
        raise ValueError("the password is at most 8 characters (SMPP 3.4)")
    if url.path not in ("", "/"):
        raise ValueError(f"nothing may follow host:port in the address, e.g. {example}")
    opts = dict(spec.options)
    system_type = opts.pop("system_type", "")
    if len(system_type) > 12:
        raise ValueError("system_type is at most 12 characters (SMPP 3.4)")
    window = _int(opts, "window", 10, 1, 1000)
    binds = _int(opts, "binds", 1, 1, 32)
    tps_raw = opts.pop("tps", "").strip()
    tps: float | None = None
    if tps_raw:
        try:
            tps = float(tps_raw)
        except ValueError:
            raise ValueError(
                f"tps must be a number of messages a second, not {tps_raw!r}"
            ) from None
        if not 0 < tps <= 100_000:
            raise ValueError(f"tps must be above 0 and at most 100000, not {tps_raw!r}")
    bind = opts.pop("bind", "trx").strip().lower().replace(" ", "+")
    if bind not in ("trx", "tx+rx"):
        raise ValueError(
            f"bind is trx (one transceiver) or tx+rx (a transmitter and a receiver), not {bind!r}"
        )
    long = opts.pop("long", "udh").strip().lower()
    if long not in ("udh", "payload"):
        raise ValueError(
            f"long is udh (parts with a concatenation header) or payload "
            f"(message_payload), not {long!r}"
        )
    coding = opts.pop("coding", "gsm7").strip().lower()
    if coding not in ("gsm7", "latin1"):
        raise ValueError(f"coding is gsm7 or latin1 (texts beyond go in UCS-2), not {coding!r}")
    registered = _bool(opts, "registered", True)
    lanes = _bool(opts, "lanes", False)
    source = opts.pop("source", "").strip()
    numeric = source.lstrip("+").isdigit()
    if source and numeric:
        if len(source.lstrip("+")) > 20:
            raise ValueError("a numeric source is at most 20 digits")
        ton, npi = (1, 1) if source.startswith("+") or len(source) > 8 else (3, 0)
        source = source.lstrip("+")
    elif source:
        if not _ALPHANUMERIC.match(source):
            raise ValueError(
                f"an alphanumeric source is 1 to 11 letters, digits, space, . _ -; not {source!r}"
            )
        ton, npi = 5, 0
    else:
        ton, npi = 0, 0
    ton = _int(opts, "source_ton", ton, 0, 6)
    npi = _int(opts, "source_npi", npi, 0, 18)
    enquire_link = _float(opts, "enquire_link", 30.0, 1.0, 3600.0)
    timeout = _float(opts, "timeout", 10.0, 0.5, 300.0)
    msg_id_raw = opts.pop("msg_id_type", "").strip()
    msg_id_type: int | None = None
    if msg_id_raw:
        if msg_id_raw not in ("0", "1", "2", "3"):
            raise ValueError(f"msg_id_type is 0, 1, 2 or 3 (as Kannel's), not {msg_id_raw!r}")
        msg_id_type = int(msg_id_raw)
    if opts:
        raise ValueError(f"unknown option(s) {', '.join(sorted(opts))}")
    return LineConfig(
        session=SessionConfig(
            host=host,
            port=port,
            system_id=system_id,
            password=password,
            system_type=system_type,
            enquire_link=enquire_link,
            timeout=timeout,
        ),
        addressing=Addressing(source, ton, npi, system_type="", registered=registered),
        window=window,
        tps=tps,
        binds=binds,
        split_binds=bind == "tx+rx",
        lanes=lanes,
        long=long,
        latin1=coding == "latin1",
        msg_id_type=msg_id_type,
    )


def _int(opts: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = opts.pop(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{key} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def _float(opts: dict[str, str], key: str, default: float, low: float, high: float) -> float:
    raw = opts.pop(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ValueError(f"{key} must be a number of seconds from {low:g} to {high:g}, not {raw!r}")
    return value


def _bool(opts: dict[str, str], key: str, default: bool) -> bool:
    raw = opts.pop(key, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{key} is 1 or 0, not {raw!r}")
