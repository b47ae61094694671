"""Gateway kinds, and building gateways from the `SMSDESK_GATEWAYS` setting.

A kind module registers a factory for its kind; the worker only ever calls `build`:

    @register("modem")
    def build_modem(spec: GatewaySpec) -> Gateway: ...

Each entry of the setting is `[NAME=]KIND[:TARGET][?OPTION=VALUE&...]`, for example:

    simulator
    sim=simulator?delivery_delay=0.5&rate=50&fail_permanent=+33600000001
    modem=modem:/dev/ttyUSB0?baud=115200&pin=1234

NAME defaults to KIND. Every kind also takes the routing options (`priority=`, `failover=`,
`limit_minute=` ... `limit_month=`, `sender=`: sms/routing.py, docs/gateways.md "Routing,
limits and watch"); the highest priority sends what names no line (the first entry when all
are equal).

An entry may hold secrets (a SIM's `pin`, a provider's `password` or `api_key`, the password in
`smpp://user:password@host`): whatever shows an entry, or a URL, in a page, a log line or an
error goes through `masked` first.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from smsdesk.gateways.base import Gateway, GatewayError, GatewayStore
from smsdesk.sms.routing import LineRouting, parse_routing

# Modules of the kinds that ship with smsdesk; imported on first use so that they register.
# One that is not there (yet) is skipped: its kind is then unknown.
BUILTIN_KIND_MODULES = (
    "smsdesk.gateways.simulator",
    "smsdesk.gateways.modem",
    "smsdesk.gateways.smpp",
    "smsdesk.gateways.http",
)


MASK = "***"
# An option whose name (or its last part: sim_pin, smtp-password) says it holds a secret.
_SECRET_OPTION = re.compile(
    r"(?:^|[_.-])(?:pin2?|puk2?|pass|passwd|password|passphrase|pwd|secret|token|"
    r"key|apikey|auth|credentials?|signature|callback)$",
    re.IGNORECASE,
)
# NAME=VALUE at the start, after ?, & or ;, or after a space; the value ends where a query
# value ends, or at a quote (an entry quoted in a message).
_OPTION = re.compile(r"(?P<before>^|[?&;\s])(?P<name>[A-Za-z][\w.-]*)=(?P<value>[^&;\s'\"]*)")
# scheme://user:PASSWORD@host, or //user:PASSWORD@host (a spec's target, without its kind)
_URL_PASSWORD = re.compile(r"(?P<before>(?:[A-Za-z][\w+.-]*:)?//[^\s:/?#@'\"]*:)[^\s@'\"]*(?=@)")


def masked(text: str) -> str:
    """`text` (a gateway entry, a URL such as a database's, or a message quoting one) with its
    secrets replaced by ***: the value of each option named like a secret (pin, password,
    secret, token, api_key, ...) and the password of a URL's user. The one function for
    showing configuration anywhere."""
    text = _URL_PASSWORD.sub(lambda m: m["before"] + MASK, text)
    return _OPTION.sub(
        lambda m: (
            f"{m['before']}{m['name']}={MASK}"
            if m["value"] and _SECRET_OPTION.search(m["name"])
            else m[0]
        ),
        text,
    )


Shared = tuple[tuple[str, tuple[str, ...]], ...]  # (slug, its senders) of each organisation


@dataclass(frozen=True)
class GatewaySpec:
    name: str
    kind: str
    target: str = ""
    options: dict[str, str] = field(default_factory=dict)
    # The organisation (its slug) the line belongs to (`?org=slug`); "" when the entry names
    # none (then the platform administrator's assignment, or the only organisation).
    org: str = ""
    # Durable storage the builder gives the gateway (the worker: the database); None gives
    # a gateway that keeps what it must in memory.
    store: GatewayStore | None = field(default=None, compare=False, repr=False)
    # What the settings say of incoming calls (SMSDESK_CALLS_HANG_UP), given by the builder;
    # a gateway's own option (e.g. modem `hangup=`) wins.
    hang_up_calls: bool = field(default=True, compare=False)
    # The line's place in the pool (`priority`, `failover`, `limit_*`, `sender`): options
    # of every kind, taken out before the kind's factory reads its own (sms/routing.py).
    routing: LineRouting = field(default_factory=LineRouting)
    # A line shared by several organisations (`org=a,b&sender.a=CABINET&sender.b=GARAGE`):
    # each organisation's slug with its sender names or numbers (the first sends), in the
    # order given; `org` is the first. Empty for a line of one organisation.
    shared: Shared = ()

    def __repr__(self) -> str:  # never the secrets among the options
        options = {k: MASK if _SECRET_OPTION.search(k) else v for k, v in self.options.items()}
        return (
            f"GatewaySpec(name={self.name!r}, kind={self.kind!r}, "
            f"target={masked(self.target)!r}, options={options!r}, org={self.org!r})"
        )


Factory = Callable[[GatewaySpec], Gateway]
_FACTORIES: dict[str, Factory] = {}
_ONE_NUMBER: set[str] = set()  # kinds that cannot be shared: one number, no destination
_loaded = False
_UNLOADED: dict[str, str] = {}  # kind -> why its module could not be imported
_load_lock = threading.Lock()


def register(kind: str, *, shareable: bool = True) -> Callable[[Factory], Factory]:
    """Decorator for a kind's factory: `@register("modem") def build(spec): ...`.
    `shareable=False`: a line of this kind has one number and does not say which address an
    SMS came to (a modem's SIM), so it cannot be shared by several organisations."""

    def decorate(factory: Factory) -> Factory:
        _FACTORIES[kind.lower()] = factory
        if not shareable:
            _ONE_NUMBER.add(kind.lower())
        return factory

    return decorate


def shareable(kind: str) -> bool:
    """Can a line of this kind be shared by several organisations (each with its senders)?"""
    _load_builtin_kinds()
    return kind.lower() not in _ONE_NUMBER


SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")
SENDER = re.compile(r"[+]?[0-9]{1,20}|[A-Za-z0-9 ._-]{1,11}")


def _shared(entry: str, kind: str, options: dict[str, str]) -> tuple[str, Shared]:
    """`org=` (one slug, or several separated by commas) and the `sender.SLUG=` options of
    a shared line: (the first slug, ((slug, senders), ...) when shared, else ())."""
    slugs = [s.strip() for s in options.pop("org", "").split(",") if s.strip()]
    senders = {
        k[len("sender.") :]: options.pop(k) for k in [k for k in options if k.startswith("sender.")]
    }
    where = f"gateway {masked(entry)!r}"
    for slug in slugs:
        if not SLUG.fullmatch(slug):
            raise GatewayError(
                f"{where}: org= is an organisation's short name "
                "(lower-case letters, digits and -), or several separated by commas"
            )
    if len(set(slugs)) != len(slugs):
        raise GatewayError(f"{where}: an organisation is named twice in org=")
    if len(slugs) <= 1:
        if senders:
            raise GatewayError(
                f"{where}: sender.SLUG= is for a line shared by several organisations "
                "(org=a,b); a line of one organisation takes sender="
            )
        return (slugs[0] if slugs else ""), ()
    if not shareable(kind):
        raise GatewayError(
            f"{where}: a {kind} line has one number and cannot tell which organisation an SMS "
            "was sent to: it cannot be shared (org= names one organisation)"
        )
    unknown = sorted(set(senders) - set(slugs))
    if unknown:
        raise GatewayError(f"{where}: sender.{unknown[0]}= names no organisation of org=")
    shared: list[tuple[str, tuple[str, ...]]] = []
    for slug in slugs:
        # '+' reads as a space in a query string: " 33612345678" is "+33612345678"
        names = tuple(
            "+" + n.strip() if n[:1] == " " and n.strip().isdigit() else n.strip()
            for n in senders.get(slug, "").split(",")
            if n.strip()
        )
        if not names:
            raise GatewayError(
                f"{where}: each organisation sharing the line needs its sender name or number "
                f"(sender.{slug}=NAME)"
            )
        for name in names:
            if not SENDER.fullmatch(name):
                raise GatewayError(
                    f"{where}: sender.{slug}: {name!r} is not a sender: a number (up to 20 "
                    "digits) or a name of 1 to 11 letters, digits, space, . _ -"
                )
        shared.append((slug, names))
    taken = [norm_sender(n) for _s, names in shared for n in names]
    if len(set(taken)) != len(taken):
        raise GatewayError(f"{where}: two organisations sharing the line have the same sender")
    return slugs[0], tuple(shared)


def norm_sender(text: str) -> str:
    """A sender name or number as compared (no case, spaces or leading +)."""
    return "".join(text.split()).lstrip("+").casefold()


def _load_builtin_kinds() -> None:
    global _loaded
    if _loaded:
        return
    with _load_lock:
        for module in BUILTIN_KIND_MODULES:
            try:
                importlib.import_module(module)
            except ImportError as e:
                _UNLOADED[module.rsplit(".", 1)[-1]] = str(e)
        _loaded = True


def known_kinds() -> list[str]:
    _load_builtin_kinds()
    return sorted(_FACTORIES)


def parse_spec(entry: str) -> GatewaySpec:
    entry = entry.strip()
    name = ""
    head, _, query = entry.partition("?")
    if "=" in head:
        name, _, head = head.partition("=")
    kind, _, target = head.partition(":")
    kind = kind.strip().lower()
    kinds = known_kinds()
    if kind not in kinds:
        why = f", its module did not load: {_UNLOADED[kind]}" if kind in _UNLOADED else ""
        raise GatewayError(
            f"gateway {masked(entry)!r}: unknown kind {kind!r} (known: {', '.join(kinds)}){why}"
        )
    options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    org, shared = _shared(entry, kind, options)
    try:
        routing = parse_routing(options)
    except ValueError as e:
        raise GatewayError(f"gateway {masked(entry)!r}: {e}") from None
    if not routing.sender and options.get("source"):  # an SMPP line's sender
        routing = dataclasses.replace(routing, sender=options["source"].strip()[:32])
    name = (name or kind).strip()
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 50:
        raise GatewayError(
            f"gateway {masked(entry)!r}: a name uses letters, digits, - and _ only (at most 50)"
        )
    return GatewaySpec(
        name=name,
        kind=kind,
        target=target,
        options=options,
        org=org,
        routing=routing,
        shared=shared,
    )


def parse_specs(entries: Sequence[str]) -> list[GatewaySpec]:
    specs = [parse_spec(e) for e in entries]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GatewayError(f"two gateways are named {', '.join(duplicates)}")
    if not specs:
        raise GatewayError("no gateway configured (SMSDESK_GATEWAYS is empty)")
    return specs


def check(entries: Sequence[str]) -> None:
    """Parse each entry and build its gateway once (building opens nothing): GatewayError
    for a wrong kind, name or option, at start rather than when the worker needs it."""
    for spec in parse_specs(entries):
        build(spec)


@functools.lru_cache(maxsize=8)
def _parsed(entries: tuple[str, ...]) -> tuple[GatewaySpec, ...]:
    return tuple(parse_specs(entries))


def configured(entries: Sequence[str]) -> list[GatewaySpec]:
    """`parse_specs` parsed once per distinct setting: callers pass SMSDESK_GATEWAYS on every
    send, the text is read only the first time."""
    return list(_parsed(tuple(entries)))


def build(spec: GatewaySpec) -> Gateway:
    """A gateway of the spec's kind, from its registered factory."""
    _load_builtin_kinds()
    try:
        factory = _FACTORIES[spec.kind]
    except KeyError:
        raise GatewayError(f"gateway {spec.name}: unknown kind {spec.kind!r}") from None
    try:
        return factory(spec)
    except ValueError as e:
        raise GatewayError(f"gateway {spec.name}: {e}") from None


# Helpers for factories reading their options.


def take_int(options: dict[str, str], key: str, default: int | None) -> int | None:
    raw = options.pop(key, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{key} must be a whole number, not {raw!r}") from None


def take_float(options: dict[str, str], key: str, default: float | None) -> float | None:
    raw = options.pop(key, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{key} must be a number, not {raw!r}") from None


def take_numbers(options: dict[str, str], key: str) -> list[str]:
    # '+' in a query string reads as a space: numbers are E.164, so put it back.
    raw = options.pop(key, "")
    return ["+" + n.strip().lstrip("+ ") for n in raw.split(",") if n.strip()]


def refuse_unknown_options(spec: GatewaySpec, options: dict[str, str]) -> None:
    if options:
        raise GatewayError(f"gateway {spec.name}: unknown option(s) {', '.join(sorted(options))}")
