"""POST a delivery to an endpoint, refusing private addresses where it matters: on the
address actually connected to.

The name is resolved once, each address it resolved to is checked, and the socket is
connected to that checked address (the Host header and TLS's SNI and certificate check keep
the name): a name that resolves to a public address for a check and to 127.0.0.1 for the
connection (DNS rebinding) is never connected to. Redirects are not followed (a 3xx is a
failed try, as Stripe and GitHub do): a redirect to a private address cannot be reached.
Every address that is not global is refused: loopback, 10/8, 172.16/12, 192.168/16,
100.64/10, link-local (169.254.169.254, the cloud metadata address), multicast, reserved,
IPv6 ::1, fc00::/7, fe80::/10 and an IPv4 address mapped in IPv6. `allow_private`
(SMSDESK_WEBHOOK_ALLOW_PRIVATE) lifts the refusal, for an installation whose receivers are on
its own network. No Django here: the worker's pool calls it outside any transaction.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "smsdesk-webhooks/1"
CONNECT_TIMEOUT = 5.0  # seconds to connect
READ_TIMEOUT = 10.0  # seconds for the whole answer
MAX_ANSWER = 64 * 1024  # what is read of an answer (never kept: a receiver may be chatty)


class Refused(Exception):
    """Not sent: the address is not one smsdesk may call (why in the message)."""


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or Refused saying what is wrong."""
    if len(url) > 2000:
        raise Refused("the address is longer than 2,000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise Refused(f"the address cannot be read ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("only http:// and https:// addresses are accepted")
    if not parts.hostname:
        raise Refused("the address has no host name")
    if parts.username or parts.password:
        raise Refused("an address with a user name or password is not accepted")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Refused("the address holds a space or a control character")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def refused_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why smsdesk must not call `ip`, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local or metadata address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "an address that is not public"
    return None


def resolve(host: str, port: int, *, allow_private: bool) -> list[tuple[int, str]]:
    """The addresses to connect to, each checked: (family, address). Refused when the name
    does not resolve or one of its addresses is not public (all must be: an attacker may
    give a public one and a private one and hope for the second)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise Refused(f"the host name {host!r} does not resolve ({e})") from None
    found: list[tuple[int, str]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if not allow_private:
            why = refused_reason(ipaddress.ip_address(address))
            if why:
                raise Refused(f"{host} resolves to {address}, {why}")
        if (family, address) not in found:
            found.append((family, address))
    if not found:
        raise Refused(f"the host name {host!r} does not resolve")
    return found


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address checked beforehand, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, address: str, family: int, **kw: object) -> None:
        super().__init__(host, port, **kw)  # type: ignore[arg-type]
        self._address, self._family = address, family

    def connect(self) -> None:
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect((self._address, self.port))
        except BaseException:
            sock.close()
            raise
        sock.settimeout(READ_TIMEOUT)
        self.sock = sock


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool) -> Answer:
    """POST `body` to `url`, one try; never raises for the network's faults: the answer
    says what happened (the status code, or the error without one)."""
    started = time.monotonic()

    def done(code: int | None, error: str = "") -> Answer:
        return Answer(code, error[:300], int((time.monotonic() - started) * 1000))

    try:
        scheme, host, port, path = check_url(url)
        addresses = resolve(host, port, allow_private=allow_private)
    except Refused as e:
        return done(None, f"refused: {e}")
    family, address = addresses[0]
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = kind(host, port, address, family, timeout=READ_TIMEOUT)
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **headers,
            },
        )
        conn.sock.settimeout(READ_TIMEOUT)
        deadline = time.monotonic() + READ_TIMEOUT
        response = conn.getresponse()
        read = 0
        while read < MAX_ANSWER and time.monotonic() < deadline:
            chunk = response.read(4096)
            if not chunk:
                break
            read += len(chunk)
        code = response.status
        if 300 <= code < 400:
            where = response.getheader("Location", "")[:150]
            return done(code, f"redirect to {where} not followed")
        return done(code)
    except TimeoutError:
        return done(None, f"no answer within {READ_TIMEOUT:.0f} s")
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        return done(None, f"{type(e).__name__}: {e}")
    finally:
        conn.close()
