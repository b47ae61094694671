"""The operations endpoints, and the time each request takes.

`/healthz`, `/readyz` and `/metrics` are answered here, near the top of the middleware, not
by a view: a probe or a scraper reaches the process by an address that is not one of
SMSDESK_ALLOWED_HOSTS (127.0.0.1 in a container, the host's IP for Prometheus), over plain
HTTP while the site redirects to HTTPS, without a session or a login. None of what runs
below (host check, HTTPS redirect, sessions, language, CSRF, login) applies to them, and none
of them shows data: health says only which check failed, metrics need a token.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from smsdesk.core.proxies import is_in

log = logging.getLogger("smsdesk.requests")


def _answer(response: HttpResponse, **headers: str) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    # Django would log every 503 of a probe as an error: the answer is the report.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _plain(text: str, status: int = 200, **headers: str) -> HttpResponse:
    return _answer(
        HttpResponse(text, status=status, content_type="text/plain; charset=utf-8"), **headers
    )


def healthz(request: HttpRequest) -> HttpResponse:
    return _plain("ok\n")


def readyz(request: HttpRequest) -> HttpResponse:
    from smsdesk.ops.health import readiness

    ready, checks = readiness()
    return _answer(
        HttpResponse(
            json.dumps({"ready": ready, "checks": checks}),
            status=200 if ready else 503,
            content_type="application/json",
        )
    )


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.SMSDESK_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    by_token = bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    by_address = is_in(request.META.get("REMOTE_ADDR", ""), settings.SMSDESK_METRICS_ALLOW)
    if not (by_token or by_address):
        if not token and not settings.SMSDESK_METRICS_ALLOW:
            return _plain("metrics are off: set SMSDESK_METRICS_TOKEN\n", 403)
        return _plain("a bearer token is needed\n", 401, WWW_Authenticate="Bearer")
    from smsdesk.ops.metrics import CONTENT_TYPE, exposition

    return _answer(HttpResponse(exposition(), content_type=CONTENT_TYPE))


ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics,
}


class OpsEndpointsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = ENDPOINTS.get(request.path_info.rstrip("/") or "/")
        if endpoint is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return _plain("GET only\n", 405, Allow="GET, HEAD")
        return endpoint(request)


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Times every page and API call (static files are answered before it) into the
    `smsdesk_http_request_duration_seconds` histogram, by view, and logs one line per
    request (with its id, from core.logs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from smsdesk.ops.metrics import observe_request

        self.observe = observe_request
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unmatched"
        method = request.method if request.method in METHODS else "other"
        self.observe(view, method, response.status_code, seconds)
        log.info(
            "%s %s %d %.1f ms",
            request.method,
            request.path,
            response.status_code,
            seconds * 1000,
            extra={"view": view, "status": response.status_code, "ms": round(seconds * 1000, 1)},
        )
        return response
