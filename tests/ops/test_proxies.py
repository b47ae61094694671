"""X-Forwarded-* believed from the trusted proxies only (SMSDESK_TRUSTED_PROXIES)."""

from __future__ import annotations

import ipaddress

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings

from smsdesk.core.proxies import TrustedProxyMiddleware, client_address

LOOPBACK = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("::1")]
TWO_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # the proxy on this machine
        ("198.51.100.1", "203.0.113.7", "198.51.100.1"),  # not a proxy: its header is a lie
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client wrote the first
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "not-an-ip", "127.0.0.1"),
        ("::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_the_client_is_the_first_hop_we_did_not_add(remote, forwarded, client) -> None:  # type: ignore[no-untyped-def]
    assert client_address(remote, forwarded, LOOPBACK) == client


def test_a_chain_of_trusted_proxies_is_walked() -> None:
    chain = "6.6.6.6, 203.0.113.7, 10.0.0.2"  # client spoof, client, first proxy
    assert client_address("10.0.0.3", chain, TWO_PROXIES) == "203.0.113.7"


def seen(remote: str, **headers: str) -> HttpRequest:
    got: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        got.append(request)
        return HttpResponse()

    request = HttpRequest()
    request.META = {"REMOTE_ADDR": remote, "SERVER_NAME": "sms.example.org", "SERVER_PORT": "80"}
    request.META.update(headers)
    TrustedProxyMiddleware(view)(request)
    return got[0]


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_https_is_believed_from_the_proxy_only() -> None:
    from_proxy = seen(
        "127.0.0.1", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    assert from_proxy.is_secure() and from_proxy.META["REMOTE_ADDR"] == "203.0.113.7"
    spoofed = seen("198.51.100.1", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert not spoofed.is_secure() and spoofed.META["REMOTE_ADDR"] == "198.51.100.1"
    assert "HTTP_X_FORWARDED_FOR" not in spoofed.META
    chained = seen("127.0.0.1", HTTP_X_FORWARDED_PROTO="HTTPS, http")
    assert chained.is_secure()


@pytest.mark.django_db
@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SMSDESK_TRUSTED_PROXIES=TWO_PROXIES,
)
def test_behind_https_a_page_from_the_proxy_is_served_and_a_direct_one_redirected() -> None:
    via_proxy = Client(REMOTE_ADDR="10.0.0.2").get(
        "/accounts/login/", HTTP_X_FORWARDED_PROTO="https"
    )
    assert via_proxy.status_code == 200
    assert via_proxy["Strict-Transport-Security"].startswith("max-age=31536000")
    # the same header from anyone else is ignored: redirected to HTTPS, no HSTS on plain HTTP
    direct = Client(REMOTE_ADDR="192.0.2.9").get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert direct.status_code == 301 and direct["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in direct
    # probes and scrapers are not redirected
    assert Client(REMOTE_ADDR="192.0.2.9").get("/healthz").status_code == 200
