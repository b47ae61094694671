"""Behind a reverse proxy: believe its X-Forwarded-* headers, and only its.

The proxy (nginx, Caddy, HAProxy) ends HTTPS and tells us the client's address
(`X-Forwarded-For`) and the scheme it was reached by (`X-Forwarded-Proto`). Anybody can send
those headers, so they are believed only from the addresses in SMSDESK_TRUSTED_PROXIES
(default: this machine, 127.0.0.1 and ::1); from anyone else they are removed before Django
reads them. Django's SECURE_PROXY_SSL_HEADER, the login lock-out (django-axes, by
REMOTE_ADDR) and the metrics allow-list then all see the real client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def is_in(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def client_address(remote_addr: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The first address, from the right, that is not one of our proxies: the hops a client
    wrote on the left are its own words, the ones our proxies appended are true."""
    address = remote_addr
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_in(address, trusted):
            break
        try:
            ipaddress.ip_address(hop.split("%", 1)[0])
        except ValueError:
            break  # garbage: stop at the last proxy we believe
        address = hop
    return address


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trusted = settings.SMSDESK_TRUSTED_PROXIES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        peer = meta.get("REMOTE_ADDR", "")
        if is_in(peer, self.trusted):
            meta["REMOTE_ADDR"] = client_address(
                peer, meta.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
            )
            # A chain of proxies may send "https, http": the first one met the client.
            proto = meta.get("HTTP_X_FORWARDED_PROTO", "")
            if proto:
                meta["HTTP_X_FORWARDED_PROTO"] = proto.split(",")[0].strip().lower()
        else:
            for header in FORWARDED:
                meta.pop(header, None)
        return self.get_response(request)
