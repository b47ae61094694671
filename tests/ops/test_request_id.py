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


@pytest.mark.django_db
def test_a_campaign_keeps_the_id_of_the_request_that_created_it(operator) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.accounts.services import create_token
    from smsdesk.messaging.models import Campaign
    from smsdesk.messaging.sending import create_campaign

    _token, raw = create_token(user=operator)
    response = Client().post(
        "/api/v1/messages",
        {"to": ["0612345678"], "text": "Bonjour"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_X_REQUEST_ID="api-call-77",
    )
    assert response.status_code == 201
    assert Campaign.objects.get(id=response.json()["campaign_id"]).request_id == "api-call-77"
    # outside a request (the command line) there is none
    assert create_campaign(author=None, body="x", to=["0612345679"]).request_id is None
