"""The Statistics page, its CSV and /api/v1/stats: the counters grouped by day, week, month,
line, tag and user over a chosen period. (That the counters equal a scan of the messages
for a random mix of operations, every grouping included: tests/messaging/test_stats.py.)"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import receiving, sending, stats
from tests.worker.helpers import drain, runner_for

LONG = "Un long message. " * 20  # 3 parts


@pytest.fixture
def sent(operator: User, admin_user: User) -> None:
    """Two tags (one written two ways), two users, a long SMS, a failure, a reception."""
    sending.create_campaign(
        author=operator, body="Bonjour", to=["0612345671", "0612345672"], tag="Soldes"
    )
    sending.create_campaign(author=admin_user, body=LONG, to=["0612345673"], tag="soldes")
    sending.create_campaign(author=admin_user, body="Rappel", to=["0612345674"])
    drain(runner_for(SimulatorGateway(delivery_delay=0, fail_permanent=["+33612345674"])))
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Merci", received_at=timezone.now()
    )


def api(user: User) -> Client:
    _token, raw = accounts.create_token(user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_usage_per_tag_counts_sms_parts_not_campaigns(sent: None, operator: User) -> None:
    body = api(operator).get("/api/v1/stats?by=tag").json()
    rows = {r["key"]: r for r in body["rows"]}
    assert set(rows) == {"soldes", ""}
    soldes = rows["soldes"]
    assert soldes["label"] in ("Soldes", "soldes")  # one tag, whatever its case
    assert (soldes["sent"], soldes["sent_parts"], soldes["delivered"]) == (3, 5, 3)
    assert (rows[""]["sent"], rows[""]["failed"], rows[""]["received"]) == (0, 1, 1)
    assert body["total"]["sent_parts"] == 5
    assert body["total"]["delivery_rate"] == 100


@pytest.mark.django_db
def test_by_user_and_by_line(sent: None, operator: User, admin_user: User) -> None:
    client = api(operator)
    users = {r["key"]: r for r in client.get("/api/v1/stats?by=user").json()["rows"]}
    assert users[str(operator.id)]["sent"] == 2
    assert users[str(admin_user.id)]["sent_parts"] == 3
    assert users[str(admin_user.id)]["failed"] == 1
    assert users[""]["received"] == 1  # no author: received
    lines = client.get("/api/v1/stats?by=line").json()["rows"]
    assert [(r["key"], r["sent"], r["received"]) for r in lines] == [("simulator", 3, 1)]


@pytest.mark.django_db
def test_by_day_week_and_month_list_every_period(sent: None, operator: User) -> None:
    today = timezone.localdate()
    first = today - timedelta(days=20)
    client = api(operator)
    days = client.get(f"/api/v1/stats?from={first}&to={today}&by=day").json()["rows"]
    assert [r["key"] for r in days] == [str(first + timedelta(days=i)) for i in range(21)]
    assert days[-1]["sent"] == 3 and sum(r["sent"] for r in days) == 3
    weeks = client.get(f"/api/v1/stats?from={first}&to={today}&by=week").json()["rows"]
    assert all(timezone.datetime.fromisoformat(r["key"]).weekday() == 0 for r in weeks)  # Mondays
    assert sum(r["sent_parts"] for r in weeks) == 5
    months = client.get(f"/api/v1/stats?from={first}&to={today}&by=month").json()["rows"]
    assert months[-1]["key"] == today.strftime("%Y-%m")
    assert sum(r["received"] for r in months) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-02-30", "from"),
        ("to=yesterday", "to"),
        ("by=year", "by"),
        ("from=2026-05-02&to=2026-05-01", "from"),
        ("from=2010-01-01&to=2026-01-01", "from"),
        ("from=%2B2026-01-01", "from"),
        ("from=26-1-1", "from"),
    ],
)
def test_a_wrong_period_is_refused_saying_what_to_fix(
    operator: User, client: Client, query: str, field: str
) -> None:
    response = api(operator).get(f"/api/v1/stats?{query}")
    assert response.status_code in (400, 422), response.content
    if response.status_code == 400:
        assert response.json()["field"] == field
    client.force_login(operator)
    page = client.get(f"/statistics/?{query}")
    assert page.status_code == 400
    assert b"is-invalid" in page.content
    assert client.get(f"/statistics/export/?{query}").status_code == 400


@pytest.mark.django_db
def test_the_page_shows_the_table_and_the_chart_data(
    sent: None, operator: User, client: Client
) -> None:
    client.force_login(operator)
    page = client.get("/statistics/?by=tag").content.decode()
    assert 'id="stats-chart"' in page and 'id="stats-chart-data"' in page
    assert '<th scope="row" class="fw-normal">Soldes</th>' in page or "soldes</th>" in page
    assert 'href="/statistics/"' in client.get("/").content.decode()  # in the menu


@pytest.mark.django_db
def test_the_page_reads_the_counters_in_a_constant_number_of_queries(
    operator: User, admin_user: User, client: Client
) -> None:
    client.force_login(operator)
    sending.create_campaign(author=operator, body="x", to=["0612345670"])
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    client.get("/statistics/?by=user")  # the session, once
    with CaptureQueriesContext(connection) as few:
        client.get("/statistics/?by=user")
    for i in range(5):
        sending.create_campaign(author=admin_user, body=f"x{i}", to=[f"061234567{i}"], tag=f"t{i}")
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    with CaptureQueriesContext(connection) as more:
        client.get("/statistics/?by=user")
    assert len(more) == len(few)


@pytest.mark.django_db
def test_the_csv_has_the_table_and_no_formula(sent: None, operator: User, client: Client) -> None:
    sending.create_campaign(author=operator, body="x", to=["0612345679"], tag="=1+1")
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    client.force_login(operator)
    response = client.get("/statistics/export/?by=tag")
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0][0] == "Clé" or rows[0][0] == "Key"
    tags = {r[0]: r for r in rows[1:]}
    assert tags["soldes"][2] == "3" and tags["soldes"][3] == "5"  # sent, parts
    assert tags["'=1+1"][1] == "'=1+1"  # shown as text, never run


@pytest.mark.django_db
def test_the_report_reads_what_is_not_folded_yet(operator: User) -> None:
    sending.create_campaign(author=operator, body="Bonjour", to=["0612345671"], tag="x")
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    today = timezone.localdate()
    before = stats.report(first=today, last=today, by="tag").rows
    stats.fold()
    after = stats.report(first=today, last=today, by="tag").rows
    assert before == after and before[0].counts[stats.Event.SENT] == 1
