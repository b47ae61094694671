"""The WSGI handler (core/handler.py, issue 19): a program's API request (a bearer token, no
session cookie) takes the API's own middleware chain; everything the API checks still
answers on it (token, scope, rate, strictness, idempotency, language, request id, metrics,
security headers), and pages keep the whole chain (sessions, CSRF, the login)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.test import RequestFactory

from smsdesk.accounts import services
from smsdesk.accounts.models import User
from smsdesk.core.handler import SmsdeskWSGIHandler, is_program_request
from smsdesk.messaging.models import Message
from smsdesk.ops import metrics

SEND = json.dumps({"to": ["0612345678"], "text": "Bonjour"}).encode()


@pytest.fixture
def app() -> Iterator[SmsdeskWSGIHandler]:
    # the test's transaction stays open across requests (as the test client does)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield SmsdeskWSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> list[str]:
        return [v.strip() for k, v in self.headers if k.lower() == "set-cookie"]

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: SmsdeskWSGIHandler,
    method: str,
    path: str,
    body: bytes = b"",
    query: str = "",
    content_type: str = "application/json",
    **headers: str,
) -> Answer:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type if body else "",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    setup_testing_defaults(environ)
    started: list[Any] = []
    chunks = app(environ, lambda status, hdrs, exc=None: started.extend([status, hdrs]))
    try:
        body_out = b"".join(chunks)
    finally:
        chunks.close()
    return Answer(started[0], started[1], body_out)


def sent(count: float = 0) -> float:
    return metrics.REQUESTS.labels("api:send_message", "POST", "2xx")._value.get() - count


def test_only_a_programs_api_request_takes_the_lean_chain() -> None:
    rf = RequestFactory()
    bearer = {"HTTP_AUTHORIZATION": "Bearer abc"}
    assert is_program_request(rf.post("/api/v1/messages", **bearer))
    assert is_program_request(rf.get("/api/v1/messages", HTTP_AUTHORIZATION="bearer abc"))
    assert not is_program_request(rf.get("/api/v1/messages"))  # no token: the whole chain
    assert not is_program_request(rf.get("/messages/", **bearer))  # a page, token or not
    browser = rf.get("/api/v1/messages", **bearer)
    browser.COOKIES[settings.SESSION_COOKIE_NAME] = "x"  # a browser with its session
    assert not is_program_request(browser)


def test_the_api_chain_is_the_whole_chain_less_the_pages_own() -> None:
    assert set(settings.PAGE_ONLY_MIDDLEWARE) <= set(settings.MIDDLEWARE)  # no typo
    assert [
        m for m in settings.MIDDLEWARE if m not in settings.PAGE_ONLY_MIDDLEWARE
    ] == settings.API_MIDDLEWARE
    for kept in (
        "smsdesk.core.logs.RequestIdMiddleware",
        "smsdesk.core.middleware.LanguageMiddleware",
        "smsdesk.ops.middleware.RequestMetricsMiddleware",
        "smsdesk.api.middleware.StrictApiMiddleware",
        "smsdesk.api.idempotency.IdempotencyMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "csp.middleware.CSPMiddleware",
        "smsdesk.core.middleware.NoStoreMiddleware",
    ):
        assert kept in settings.API_MIDDLEWARE


@pytest.mark.django_db
def test_a_send_on_the_lean_chain_keeps_headers_metrics_and_sets_no_cookie(
    app: SmsdeskWSGIHandler, operator: User
) -> None:
    _t, raw = services.create_token(user=operator)
    chain = app._api_chain
    assert chain is not None
    taken: list[str] = []
    lean = chain.get_response
    chain.get_response = lambda r: taken.append(r.path) or lean(r)  # type: ignore[method-assign]
    before = sent()
    answer = call(app, "POST", "/api/v1/messages", SEND, authorization=f"Bearer {raw}")
    assert answer.status == 201, answer.body
    assert taken == ["/api/v1/messages"]  # by the API's chain
    assert Message.objects.filter(peer="+33612345678").count() == 1
    assert answer.header("X-Request-ID")
    assert answer.header("Content-Language") == "fr"
    assert "no-store" in (answer.header("Cache-Control") or "")
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("X-Frame-Options")
    assert answer.cookies() == []  # no session, no CSRF cookie for a program
    assert sent(before) == 1  # the request metrics counted it


@pytest.mark.django_db
def test_the_api_checks_all_answer_on_the_lean_chain(
    app: SmsdeskWSGIHandler, operator: User, settings: Any
) -> None:
    _t, raw = services.create_token(user=operator)
    _t, reader = services.create_token(user=operator, scopes=["messages:read"])
    auth = {"authorization": f"Bearer {raw}"}

    wrong = call(app, "POST", "/api/v1/messages", SEND, authorization="Bearer nope")
    assert wrong.status == 401 and wrong.json()["code"] == "unauthorized"
    scope = call(app, "POST", "/api/v1/messages", SEND, authorization=f"Bearer {reader}")
    assert scope.status == 403 and scope.json()["code"] == "missing_scope"

    unknown = call(app, "GET", "/api/v1/messages", query="colour=red", accept_language="en", **auth)
    assert unknown.status == 400 and unknown.json()["code"] == "unknown_parameter"
    assert "Unknown query parameters: colour" in unknown.json()["message"]  # in English
    assert unknown.header("Content-Language") == "en"
    field = json.dumps({"to": ["0612345678"], "text": "x", "colour": 1}).encode()
    assert call(app, "POST", "/api/v1/messages", field, **auth).status == 400
    put = call(app, "PUT", "/api/v1/messages", SEND, **auth)
    assert put.status == 405 and put.header("Allow")

    first = call(app, "POST", "/api/v1/messages", SEND, idempotency_key="k1", **auth)
    again = call(app, "POST", "/api/v1/messages", SEND, idempotency_key="k1", **auth)
    assert first.status == again.status == 201
    assert first.json() == again.json()
    assert Message.objects.count() == 1  # created once

    settings.SMSDESK_API_RATE = 1
    _t, limited = services.create_token(user=operator)
    codes = [
        call(app, "GET", "/api/v1/messages", authorization=f"Bearer {limited}").status
        for _ in range(3)
    ]
    assert 429 in codes


@pytest.mark.django_db
def test_pages_keep_the_whole_chain(app: SmsdeskWSGIHandler, operator: User) -> None:
    _t, raw = services.create_token(user=operator)
    chain = app._api_chain
    assert chain is not None
    chain.get_response = lambda r: pytest.fail("a page took the API's chain")  # type: ignore[method-assign]
    # a page with a token is still a page: the login it needs is a session's
    page = call(app, "GET", "/", authorization=f"Bearer {raw}")
    assert page.status == 302 and "/accounts/login/" in (page.header("Location") or "")
    login = call(app, "GET", "/accounts/login/")
    assert login.status == 200
    assert any(c.startswith(f"{settings.CSRF_COOKIE_NAME}=") for c in login.cookies())
    body = b"username=bob&password=x"
    refused = call(
        app,
        "POST",
        "/accounts/login/",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert refused.status == 403  # no CSRF token: the page's chain checked it
