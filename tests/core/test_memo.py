"""Answers kept for one web request (core/memo.py): the lines' owners read once per page
whatever the number of callers, afresh on the next request and after a change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from smsdesk.accounts.models import Organisation, User
from smsdesk.core import memo
from smsdesk.messaging import lines


def test_outside_a_request_every_call_computes() -> None:
    calls: list[int] = []
    assert memo.kept("k", lambda: calls.append(1) or len(calls)) == 1
    assert memo.kept("k", lambda: calls.append(1) or len(calls)) == 2


def test_inside_a_request_once_until_forgotten() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    def view(_request: object) -> HttpResponse:
        first, again = memo.kept("k", compute), memo.kept("k", compute)
        memo.forget("k")
        return HttpResponse(f"{first} {again} {memo.kept('k', compute)}")

    middleware = memo.RequestMemoMiddleware(view)  # type: ignore[arg-type]
    assert middleware(None).content == b"1 1 2"  # type: ignore[arg-type]
    assert middleware(None).content == b"3 3 4"  # a new request: computed again
    with pytest.raises(ZeroDivisionError):  # closed even when the view fails
        memo.RequestMemoMiddleware(lambda _r: 1 / 0)(None)  # type: ignore[arg-type]
    assert memo.kept("k", compute) == 5


def owners_queries(captured: CaptureQueriesContext) -> int:
    return sum("accounts_lineassignment" in q["sql"] for q in captured.captured_queries)


@pytest.mark.django_db
def test_a_page_reads_the_lines_owners_once(client_bob: Client) -> None:
    with CaptureQueriesContext(connection) as home:
        assert client_bob.get("/").status_code == 200
    assert owners_queries(home) == 1  # the home page asks three times
    with CaptureQueriesContext(connection) as sent:
        assert client_bob.get("/sms/sent/").status_code == 200
    assert owners_queries(sent) == 1


@pytest.mark.django_db
def test_a_saved_assignment_or_organisation_forgets_the_owners(settings, operator: User) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["simulator", "spare=simulator"]
    first = operator.organisation

    def view(_request: object) -> HttpResponse:
        before = lines.owners()["spare"]
        other = Organisation.objects.create(name="Other", slug="other")
        from smsdesk.tenants import organisations

        organisations.assign_line(other, "spare")
        return HttpResponse(f"{before == first.pk} {lines.owners()['spare'] == other.pk}")

    assert memo.RequestMemoMiddleware(view)(None).content == b"True True"  # type: ignore[arg-type]
