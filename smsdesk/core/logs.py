"""Log lines that can be followed: plain text or JSON (SMSDESK_LOG_FORMAT), each line of a
web request carrying that request's id.

The id comes from the `X-Request-ID` header when the reverse proxy (or the API client) sent a
sane one, else it is generated; it is echoed back in the answer, so a user's error report, the
proxy's log and ours meet on one value. It lives in a context variable: every log line written
while the request is answered carries it, whatever module writes the line, and a campaign
created by the request keeps it (`Campaign.request_id`).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from outside: short, and nothing that could forge a log line or a header.
_SANE_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,64}")

_request_id: ContextVar[str] = ContextVar("smsdesk_request_id", default="")


def current_request_id() -> str:
    """The id of the request being answered, "" outside a request (worker, commands)."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First of all middleware: every later line of the request's log carries its id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _SANE_ID.fullmatch(given) else new_request_id()
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record ("-" outside a request), for both formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def logging_config(*, level: str, fmt: str, access_log: bool) -> dict[str, Any]:
    """Django's LOGGING: one handler on stderr (journald or `docker logs` keep it).
    `access_log`: a line per request (smsdesk.requests), off in the embedded set-up whose
    terminal would fill with the pages' refreshes."""
    formatters: dict[str, Any] = {
        "plain": {"format": PLAIN_FORMAT},
        # python-json-logger: one JSON object a line, exceptions as a field, `extra=` kept.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "smsdesk.core.logs.RequestIdFilter"}},
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "smsdesk.requests": {"level": "INFO" if access_log else "WARNING"},
        },
    }
