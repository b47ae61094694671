"""X-Request-ID: taken when sane, made otherwise, echoed, on every log line of the request."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from smsdesk.core.logs import RequestIdFilter


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def lines():  # type: ignore[no-untyped-def]
    handler = Lines()
    logger = logging.getLogger("smsdesk.requests")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_sane_id_is_kept_and_echoed(lines) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/healthz/x", HTTP_X_REQUEST_ID="proxy-4f2a.9")
    assert response["X-Request-ID"] == "proxy-4f2a.9"
    assert [r.request_id for r in lines] == ["proxy-4f2a.9"]  # type: ignore[attr-defined]
    assert lines[0].getMessage().startswith("GET /healthz/x 404 ")


@pytest.mark.parametrize("given", ["", "a\nforged line", "x" * 65, "é", "a b"])
def test_anything_else_gets_a_new_id(lines, given: str) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/nowhere", HTTP_X_REQUEST_ID=given)
    made = response["X-Request-ID"]
    assert made != given and len(made) == 32 and made.isalnum()
    assert lines[0].request_id == made  # type: ignore[attr-defined]
    assert Client().get("/nowhere")["X-Request-ID"] != made  # one per request


def test_outside_a_request_the_id_is_a_dash() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestIdFilter().filter(record)
    assert record.request_id == "-"  # type: ignore[attr-defined]
