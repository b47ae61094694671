"""Webhooks go to public addresses only, checked on the address actually connected to. These
tests run WITHOUT SMSDESK_WEBHOOK_ALLOW_PRIVATE, except the redirect's, whose first hop is a
local receiver (allowed) answering a redirect that must not be followed."""

from __future__ import annotations

import socket

import pytest

from smsdesk.accounts.models import User
from smsdesk.webhooks import delivery, network, services
from smsdesk.webhooks.models import Attempt
from tests.webhooks.receiver import receiver

PRIVATE = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fd00:ec2::254]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://hook.smsdesk.test/hook",  # a name that resolves to 127.0.0.1 (the fixture below)
]

NAME = "hook.smsdesk.test"


@pytest.fixture(autouse=True)
def dns(monkeypatch):  # type: ignore[no-untyped-def]
    """A name that resolves to 127.0.0.1 wherever the tests run (a bare Debian chroot has no
    /etc/hosts, so "localhost" may not resolve at all): the answer a DNS server would give,
    and how many times it was asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == NAME:
            asked.append(host)
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("url", PRIVATE)
def test_a_private_address_is_refused_when_the_endpoint_is_made(
    url: str, admin_user: User, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(services.InvalidURL) as refused:
        services.create_endpoint(by=admin_user, url=url, events=["message.status"])
    assert "SMSDESK_WEBHOOK_ALLOW_PRIVATE" in str(refused.value.message)


@pytest.mark.parametrize("url", PRIVATE)
def test_a_private_address_is_refused_at_connection_time(url: str) -> None:
    """The worker's own check, whatever was stored (an endpoint whose name resolved to a
    public address when it was made and to a private one now: DNS rebinding)."""
    with receiver() as hook:
        port = hook.url.split(":")[2].split("/")[0]
        target = (
            url.replace("/hook", f":{port}/hook") if NAME in url or "127.0.0.1/" in url else url
        )
        answer = network.post(target, b"{}", {}, allow_private=False)
        assert answer.status_code is None and answer.error.startswith("refused:")
        assert hook.requests == []  # nothing reached the local receiver


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(dns) -> None:  # type: ignore[no-untyped-def]
    """No second resolution between the check and the connection: the connection is made to
    the address that was checked (a pinned connection), the name kept for Host and TLS."""
    with receiver() as hook:
        port = int(hook.url.split(":")[2].split("/")[0])
        addresses = network.resolve(NAME, port, allow_private=True)
        assert {a for _f, a in addresses} == {"127.0.0.1"}
        dns.clear()
        answer = network.post(f"http://{NAME}:{port}/hook", b"{}", {}, allow_private=True)
        assert answer.status_code == 204
        assert dns == [NAME]  # asked once: the check and the connection used one answer
        assert hook.requests[0].headers["Host"] == f"{NAME}:{port}"


def test_other_schemes_and_odd_addresses_are_refused(admin_user: User) -> None:
    for url in [
        "ftp://93.184.216.34/",
        "file:///etc/passwd",
        "gopher://93.184.216.34/",
        "http://user:pw@93.184.216.34/",
        "http://93.184.216.34:99999/",
        "http:///nohost",
        "http://93.184.216.34/a b",
        "http://93.184.216.34/\x00",
        "",
        "https://" + "a" * 2000 + ".example/",
    ]:
        with pytest.raises(services.InvalidURL):
            services.create_endpoint(by=admin_user, url=url, events=["message.status"])


def test_a_redirect_to_a_private_address_is_not_followed(admin_user: User, settings) -> None:  # type: ignore[no-untyped-def]
    with receiver() as inside, receiver("redirect") as outside:
        outside.location = inside.url  # 127.0.0.1: must never be reached
        settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True  # to reach the first hop only
        endpoint, _secret = services.create_endpoint(
            by=admin_user, url=outside.url, events=["optout.added"]
        )
        from smsdesk.optout import services as optout

        optout.add_number("0655555555", by=admin_user, reason="asked")
        assert delivery.run_due() == 1
        assert len(outside.requests) == 1
        assert inside.requests == []
    attempt = Attempt.objects.get(delivery__endpoint=endpoint)
    assert attempt.status_code == 302 and "not followed" in attempt.error
    assert not attempt.ok
