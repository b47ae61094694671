"""A property-based run over the API, from its own OpenAPI schema (schemathesis).

Valid and invalid requests, generated from what the schema says: none may answer 5xx, and
every answer must be one the schema declares (status, content type, body). The number of
examples is bounded so the run stays short; the generated data differ from run to run only
through Hypothesis' own database (derandomized here for a repeatable suite).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.api.endpoints import api

# The schema as the server publishes it (/api/v1/openapi.json).
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
schema.app = WSGIHandler()

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def wsgi_keeps_the_test_database() -> Iterator[None]:
    # Django's WSGI handler closes the database connection after each request; the test
    # client does not, and here neither must the handler (the test's transaction lives on).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db) -> str:  # type: ignore[no-untyped-def]
    user = User.objects.create_user("fuzz", password="correct horse 42")
    _token, raw = accounts.create_token(user=user)
    return f"Bearer {raw}"


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.usefixtures("wsgi_keeps_the_test_database")
def test_the_api_keeps_to_its_schema(case, bearer: str) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": bearer}, checks=CHECKS)


@pytest.mark.django_db
def test_the_schema_is_readable_with_a_bearer_token(bearer: str, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 200
    assert "/api/v1/messages" in response.json()["paths"]
    refused = client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION="Bearer smsd_forged")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
