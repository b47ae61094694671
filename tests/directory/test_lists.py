"""Names beside numbers and search by name or number in any format, on every list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsdesk.calls.models import Call
from smsdesk.directory import services
from smsdesk.messaging import receiving, sending
from smsdesk.optout import services as optout

pytestmark = pytest.mark.django_db

LISTS = ["/sms/sent/", "/sms/received/", "/sms/unread/", "/sms/conversations/", "/stop/", "/calls/"]


@pytest.fixture
def traffic() -> None:
    now = timezone.now()
    services.create_contact(name="Dupont", first_name="Jean", number="0698765432")
    for i, number in enumerate(["+33698765432", "+33611223344", "+447911123456"]):
        sending.create_campaign(author=None, body=f"sortant {i}", to=[number])
        receiving.receive_inbound(
            gateway="sim", sender=number, text=f"entrant {i}", received_at=now
        )
        Call.objects.create(caller=number, gateway="sim", at=now - timedelta(minutes=i))
        optout.opt_out(number, source="sms")


@pytest.mark.parametrize("url", LISTS)
def test_every_list_shows_the_name_and_the_national_number(
    client_bob: Client, traffic, url: str
) -> None:  # type: ignore[no-untyped-def]
    html = client_bob.get(url).content.decode()
    assert "Jean Dupont" in html and "06 98 76 54 32" in html
    assert "06 11 22 33 44" in html and "+44 7911 123456" in html


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "q",
    [
        "06 98 76 54 32",
        "+33 6 98 76 54 32",
        "0033698765432",
        "06.98.76",
        "0698",
        "dupont",
        "Jean Dupont",
    ],
)
def test_every_list_finds_a_number_in_any_format_or_by_name(
    client_bob: Client, traffic, url: str, q: str
) -> None:  # type: ignore[no-untyped-def]
    html = client_bob.get(url, {"q": q}).content.decode()
    assert "06 98 76 54 32" in html, (url, q)
    assert "06 11 22 33 44" not in html and "+44 7911" not in html, (url, q)


@pytest.mark.parametrize("url", LISTS)
def test_a_search_in_the_middle_of_a_number_still_finds_it(
    client_bob: Client, traffic, url: str
) -> None:  # type: ignore[no-untyped-def]
    html = client_bob.get(url, {"q": "7654"}).content.decode()
    assert "06 98 76 54 32" in html and "06 11 22 33 44" not in html


@pytest.mark.parametrize("url", LISTS)
def test_names_cost_no_query_per_row(client_bob: Client, traffic, url: str) -> None:  # type: ignore[no-untyped-def]
    client_bob.get(url)
    with CaptureQueriesContext(connection) as few:
        client_bob.get(url)
    for i in range(20):
        number = f"+336112233{i:02d}"
        services.create_contact(name=f"Contact {i}", number=number)
        sending.create_campaign(author=None, body="x", to=[number])
        receiving.receive_inbound(
            gateway="sim", sender=number, text="y", received_at=timezone.now()
        )
        Call.objects.create(caller=number, gateway="sim", at=timezone.now())
        optout.opt_out(number, source="sms")
    with CaptureQueriesContext(connection) as many:
        client_bob.get(url)
    assert len(many) == len(few), url


def test_the_contact_list_finds_by_number_first_name_and_custom_formats(
    client_bob: Client, traffic
) -> None:  # type: ignore[no-untyped-def]
    services.create_contact(name="Martin", first_name="Claire", number="0611223344")
    for q, found in [
        ("claire", "Martin"),
        ("0611", "Martin"),
        ("+33 6 11", "Martin"),
        ("jean", "Dupont"),
    ]:
        html = client_bob.get("/directory/contacts/", {"q": q}).content.decode()
        assert found in html, q
    html = client_bob.get("/directory/contacts/", {"q": "0611"}).content.decode()
    assert "Dupont" not in html


def test_the_contact_list_costs_the_same_queries_for_25_contacts_or_1(client_bob: Client) -> None:
    group = services.create_group(name="G")
    services.create_contact(name="A", number="0611000000", groups=[group.id])
    client_bob.get("/directory/contacts/")
    with CaptureQueriesContext(connection) as one:
        client_bob.get("/directory/contacts/")
    for i in range(1, 25):
        services.create_contact(name=f"C{i}", number=f"+336110000{i:02d}", groups=[group.id])
    with CaptureQueriesContext(connection) as many:
        client_bob.get("/directory/contacts/")
    assert len(many) == len(one)


def test_postgresql_gets_trigram_indexes_for_searches_inside_names() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite scans 100,000 names fast enough (bench/RESULTS.md)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'directory_contact'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"contact_name_trgm", "contact_first_name_trgm", "contact_search_trgm"} <= names
