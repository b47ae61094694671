"""Scoped tokens with an expiry, their last use, the rate limit (429 with Retry-After and
RateLimit-* headers) and refused tokens throttled per address."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from smsdesk.accounts import services
from smsdesk.accounts.models import ApiToken, User
from smsdesk.api.endpoints import SCOPES, api

pytestmark = pytest.mark.django_db

SEND = {"to": ["0612345678"], "text": "Bonjour"}


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_token_without_messages_send_cannot_send_but_reads(operator: User) -> None:
    _t, raw = services.create_token(user=operator, scopes=["messages:read"])
    client = bearer(raw)
    refused = client.post("/api/v1/messages", SEND, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "missing_scope"
    assert "messages:send" in refused.json()["message"]
    assert client.get("/api/v1/messages").status_code == 200
    assert client.get("/api/v1/contacts").status_code == 403  # contacts:read not given
    _t, sender = services.create_token(user=operator, scopes=["messages:send"])
    sent = bearer(sender).post("/api/v1/messages", SEND, content_type="application/json")
    assert sent.status_code == 201


def test_every_path_of_the_schema_needs_a_known_scope() -> None:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    for path in schema["paths"]:
        area = path.removeprefix("/api/v1/").split("/", 1)[0]
        assert area in SCOPES, f"{path}: add its area to api.endpoints.SCOPES"


def test_an_operator_cannot_give_a_token_an_administrators_scope(operator: User) -> None:
    with pytest.raises(services.InvalidScope, match="webhooks:admin"):
        services.create_token(user=operator, scopes=["webhooks:admin"])
    with pytest.raises(services.InvalidScope, match="messages:sned"):
        services.create_token(user=operator, scopes=["messages:sned"])
    assert not ApiToken.objects.exists()


def test_a_demoted_administrators_token_loses_the_administrators_scopes(
    admin_user: User,
) -> None:
    _t, raw = services.create_token(user=admin_user, scopes=["webhooks:admin"])
    assert bearer(raw).get("/api/v1/webhooks").status_code == 200
    User.objects.create_user("zoe", password="x" * 12, role=User.Role.ADMIN)
    admin_user.role = User.Role.OPERATOR
    admin_user.save()
    assert bearer(raw).get("/api/v1/webhooks").status_code == 403


def test_an_expired_token_is_refused(operator: User) -> None:
    token, raw = services.create_token(user=operator, expires_days=1)
    assert bearer(raw).get("/api/v1/messages").status_code == 200
    ApiToken.objects.filter(id=token.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = bearer(raw).get("/api/v1/messages")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"


def test_the_last_use_is_kept_with_its_address(operator: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_API_RATE = 50
    token, raw = services.create_token(user=operator)
    bearer(raw).get("/api/v1/messages", REMOTE_ADDR="203.0.113.9")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_ip == "203.0.113.9"
    page = Client()
    page.force_login(operator)
    shown = page.get(reverse("accounts:profile")).content.decode()
    assert "203.0.113.9" in shown  # last use shown with its address, on My account


def test_over_the_rate_the_api_answers_429_with_retry_after(operator: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_API_RATE = 3
    _t, raw = services.create_token(user=operator)
    client = bearer(raw)
    answers = [client.get("/api/v1/messages") for _ in range(20)]
    ok = answers[0]
    assert ok.status_code == 200
    assert ok["RateLimit-Limit"] == "3" and int(ok["RateLimit-Remaining"]) <= 2
    limited = [a for a in answers if a.status_code == 429]
    assert limited, "20 requests at once, 3 allowed a second: some must be refused"
    assert limited[0]["Retry-After"] == "1"
    assert limited[0]["RateLimit-Remaining"] == "0"
    assert limited[0].json()["code"] == "rate_limited"
    # another token has its own count
    _t, other = services.create_token(user=operator)
    assert bearer(other).get("/api/v1/messages").status_code == 200


def test_no_limit_when_the_rate_is_0(operator: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_API_RATE = 0
    _t, raw = services.create_token(user=operator)
    client = bearer(raw)
    assert all(client.get("/api/v1/messages").status_code == 200 for _ in range(60))


def test_refused_tokens_are_logged_and_throttled_per_address(caplog) -> None:  # type: ignore[no-untyped-def]
    client = bearer("smsd_" + "x" * 43)
    codes = [
        client.get("/api/v1/messages", REMOTE_ADDR="198.51.100.7").status_code for _ in range(25)
    ]
    assert codes[:20] == [401] * 20
    assert codes[-1] == 429
    assert "198.51.100.7" in caplog.text
    # another address is not throttled
    assert client.get("/api/v1/messages", REMOTE_ADDR="198.51.100.8").status_code == 401


def test_createtoken_with_scopes_and_an_expiry(admin_user: User) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "createtoken",
        "alice",
        "--scope",
        "messages:send",
        "--scope",
        "webhooks:admin",
        "--expires-days",
        "30",
        stdout=out,
        stderr=err,
    )
    token = ApiToken.objects.get()
    assert token.scopes == ["messages:send", "webhooks:admin"]
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert "webhooks:admin" in err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["--scope", "everything"],
        ["--scope", "webhooks:admin"],  # not an operator's
        ["--expires-days", "0"],
        ["--expires-days", "99999"],
    ],
)
def test_createtoken_refuses_what_it_cannot_give(operator: User, args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("createtoken", "bob", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


def test_createtoken_without_scope_gives_every_scope_of_the_role(operator: User) -> None:
    call_command("createtoken", "bob", stdout=io.StringIO(), stderr=io.StringIO())
    token = ApiToken.objects.get()
    assert token.scopes is None
    assert token.granted() == {"messages:send", "messages:read", "contacts:read", "contacts:write"}
