"""The home page's figures: what was sent, delivered, failed and received lately."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.dashboard import services
from smsdesk.messaging import campaigns, receiving, sending, stats
from smsdesk.messaging.models import Message

S = Message.Status
E = stats.Event


def count(event: str, *, days_ago: int = 0, n: int = 1, gateway: str = "simulator") -> None:
    stats.count(event, at=timezone.now() - timedelta(days=days_ago), gateway=gateway, n=n)


@pytest.mark.django_db
def test_figures_count_each_period_from_the_counters(operator: User) -> None:
    count(E.SENT, n=4)
    count(E.DELIVERED, n=3)
    count(E.FAILED)
    count(E.SENT, days_ago=3, n=6)
    count(E.DELIVERED, days_ago=3, n=3)
    count(E.SENT, days_ago=10, n=10)  # in the month, not in the week
    count(E.SENT, days_ago=40, n=100)  # in none
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Bonjour", received_at=timezone.now()
    )
    sending.create_campaign(author=operator, body="now", to=["0612345674"])
    later = sending.create_campaign(
        author=operator, body="later", to=["0612345675"], send_at=timezone.now() + timedelta(days=1)
    )

    figures = services.figures()
    by_period = {p["key"]: p for p in figures["periods"]}
    assert by_period["day"] == {
        "key": "day",
        "sent": 4,
        "delivered": 3,
        "failed": 1,
        "unknown": 0,
        "received": 1,
        "rate": 75,  # 3 ÷ (3 + 1)
    }
    assert by_period["week"] | {"key": "day"} == by_period["day"] | {
        "sent": 10,
        "delivered": 6,
        "rate": 86,  # 6 ÷ (6 + 1)
    }
    assert (by_period["month"]["sent"], by_period["month"]["rate"]) == (20, 86)
    assert (figures["unread"], figures["waiting"], figures["scheduled"]) == (1, 1, 1)
    assert figures["next_campaign"] == later
    [sent, received] = figures["chart"]["series"]
    assert len(sent["data"]) == len(figures["chart"]["labels"]) == 30
    assert sent["data"][-1] == 4 and sent["data"][-4] == 6 and sent["data"][-11] == 10
    assert received["data"][-1] == 1 and sum(received["data"]) == 1


@pytest.mark.django_db
def test_a_cancelled_campaign_is_neither_waiting_nor_next(operator: User) -> None:
    later = sending.create_campaign(
        author=operator, body="later", to=["0612345675"], send_at=timezone.now() + timedelta(days=1)
    )
    campaigns.cancel_campaign(later.id, by=operator)
    figures = services.figures()
    assert (figures["waiting"], figures["scheduled"], figures["next_campaign"]) == (0, 0, None)


def test_the_delivery_rate_is_delivered_over_delivered_failed_and_unknown() -> None:
    assert services.delivery_rate(0, 0, 0) is None
    assert services.delivery_rate(2, 1, 0) == 67
    assert services.delivery_rate(2, 0, 1) == 67  # lost ones count against it too
    assert services.delivery_rate(96, 4, 0) == 96  # never "100 %" beside failures
    assert services.delivery_rate(5, 0, 0) == 100


@pytest.mark.django_db
def test_each_home_figure_opens_its_list_filtered(client_bob: Client) -> None:
    count(E.SENT, n=100)
    count(E.DELIVERED, n=100)
    count(E.FAILED, n=4)
    html = client_bob.get("/").content.decode()
    assert "100 %" not in html and "96 %" in html
    assert "délivrés ÷ (délivrés + échecs + inconnus)" in html
    for href in (
        "/sms/sent/?status=queued",
        "/sms/scheduled/",
        "/sms/sent/?status=failed&amp;period=day",
        "/sms/sent/?status=delivered&amp;period=week",
        "/sms/sent/?status=unknown&amp;period=month",
        "/sms/received/?period=day",
    ):
        assert f'href="{href}"' in html, href


@pytest.mark.django_db
def test_a_filtered_list_shows_only_its_status_and_period(client_bob: Client) -> None:
    old = sending.create_campaign(author=None, body="vieux", to=["0612345671"])
    Message.objects.filter(campaign=old).update(created_at=timezone.now() - timedelta(days=9))
    sending.create_campaign(author=None, body="aujourd'hui", to=["0612345672"])
    later = sending.create_campaign(
        author=None, body="demain", to=["0612345673"], send_at=timezone.now() + timedelta(days=1)
    )
    assert later.send_at > timezone.now()

    def bodies(query: str) -> set[str]:
        page = client_bob.get("/sms/sent/" + query)
        return {m.body for m in page.context["page"]}

    assert bodies("?status=scheduled") == {"demain"}
    assert bodies("?status=queued") == {"vieux", "aujourd'hui"}
    assert bodies("?status=queued&period=week") == {"aujourd'hui"}
    assert bodies("?period=month") == {"vieux", "aujourd'hui", "demain"}
    assert bodies("?status=nonsense&period=year") == {"vieux", "aujourd'hui", "demain"}
    html = client_bob.get("/sms/sent/?status=scheduled").content.decode()
    assert "Filtré : Programmé" in html and 'name="status" value="scheduled"' in html


@pytest.mark.django_db
def test_the_home_page_shows_them_in_french(client_bob: Client) -> None:
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Bonjour", received_at=timezone.now()
    )
    html = client_bob.get("/").content.decode()
    assert "Accueil" in html and "SMS non lus" in html
    assert '<div class="fs-3" id="unread-count">1</div>' in html


@pytest.mark.django_db
def test_home_counts_messages_still_waiting_for_their_report(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_REPORT_TIMEOUT = 48
    count(E.SENT, days_ago=5, n=3)
    count(E.REPORTED, days_ago=5, n=2)  # reports of messages sent that day
    count(E.SENT, days_ago=40, n=1)  # before the chart's days, still counted
    count(E.SENT, n=7)  # sent today: too recent
    assert services.figures()["no_report"] == 2
    html = client_bob.get("/").content.decode()
    assert 'id="no-report"' in html
    assert (
        "2 SMS envoyés il y a plus de 48 heures attendent encore leur accusé de réception" in html
    )


@pytest.mark.django_db
def test_the_home_page_has_its_chart_data_and_a_table_of_it(client_bob: Client) -> None:
    count(E.SENT, n=4)
    html = client_bob.get("/").content.decode()
    assert '<canvas id="home-chart"' in html
    assert '<script id="home-chart-data" type="application/json">' in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "dashboard/home.js" in html
    assert 'id="chart-table"' in html and "<td>4</td>" in html
    assert "Taux de délivrance" in html and "100 %" not in html


@pytest.mark.django_db
def test_the_home_view_runs_the_same_queries_whatever_the_volume(client_bob: Client) -> None:
    client_bob.get("/")
    with CaptureQueriesContext(connection) as few:
        client_bob.get("/")
    for day in range(31):
        count(E.SENT, days_ago=day, n=50)
        count(E.DELIVERED, days_ago=day, n=40)
        count(E.RECEIVED, days_ago=day, n=5, gateway="modem")
    sending.create_campaign(author=None, body="x", to=[f"06123456{i:02d}" for i in range(60)])
    for i in range(20):
        receiving.receive_inbound(
            gateway="simulator", sender=f"+336987654{i:02d}", text="x", received_at=timezone.now()
        )
    with CaptureQueriesContext(connection) as many:
        client_bob.get("/")
    assert len(many) == len(few)
    assert not [q for q in many if "messaging_message" in q["sql"] and "COUNT" in q["sql"]]
