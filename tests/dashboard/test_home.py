"""The home page's figures: what was sent, delivered, failed and received lately."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.dashboard import services
from smsdesk.messaging import services as messaging
from smsdesk.messaging.models import Message

S = Message.Status


@pytest.mark.django_db
def test_figures_count_each_period_and_state(operator: User) -> None:
    campaign = messaging.create_campaign(
        author=operator, body="x", to=["0612345671", "0612345672", "0612345673", "0612345674"]
    )
    delivered, failed, unknown, _queued = campaign.messages.order_by("id")
    Message.objects.filter(pk=delivered.pk).update(status=S.DELIVERED)
    Message.objects.filter(pk=failed.pk).update(status=S.FAILED)
    # Ten days old: in the month, not in the week or the day.
    Message.objects.filter(pk=unknown.pk).update(
        status=S.UNKNOWN, created_at=timezone.now() - timedelta(days=10)
    )
    messaging.create_campaign(
        author=operator, body="later", to=["0612345675"], send_at=timezone.now() + timedelta(days=1)
    )
    messaging.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Bonjour", received_at=timezone.now()
    )

    figures = services.figures()
    by_period = {p["key"]: p for p in figures["periods"]}
    assert by_period["day"] == {"key": "day", "sent": 3, "delivered": 1, "failed": 1, "received": 1}
    assert by_period["week"] == by_period["day"] | {"key": "week"}
    assert by_period["month"] == {
        "key": "month",
        "sent": 4,
        "delivered": 1,
        "failed": 2,
        "received": 1,
    }
    assert (figures["unread"], figures["waiting"], figures["scheduled"]) == (1, 1, 1)


@pytest.mark.django_db
def test_the_home_page_shows_them_in_french(client_bob: Client) -> None:
    messaging.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Bonjour", received_at=timezone.now()
    )
    html = client_bob.get("/").content.decode()
    assert "Accueil" in html and "SMS non lus" in html
    assert '<div class="fs-3" id="unread-count">1</div>' in html


@pytest.mark.django_db
def test_home_counts_messages_still_waiting_for_their_report(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_REPORT_TIMEOUT = 48
    late, recent, done = messaging.create_campaign(
        author=None, body="x", to=["0612345671", "0612345672", "0612345673"]
    ).messages.order_by("id")
    now = timezone.now()
    Message.objects.filter(pk=late.pk).update(status=S.SENT, sent_at=now - timedelta(hours=49))
    Message.objects.filter(pk=recent.pk).update(status=S.SENT, sent_at=now - timedelta(hours=1))
    Message.objects.filter(pk=done.pk).update(status=S.DELIVERED, sent_at=now - timedelta(hours=50))
    assert services.figures()["no_report"] == 1
    html = client_bob.get("/").content.decode()
    assert 'id="no-report"' in html
    assert "1 SMS envoyé il y a plus de 48 heures attend encore son accusé de réception" in html
