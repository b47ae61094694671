"""The daily summary: yesterday's figures from the maintained counters, mailed to each user
who asked (Mon compte, `smsdesk user set --email-summary`), once a day from
SMSDESK_EMAIL_SUMMARY_HOUR in the organisation's time zone, whichever worker looks and
however often."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from smsdesk.accounts import services
from smsdesk.accounts.models import Organisation, User
from smsdesk.audit.models import Entry
from smsdesk.core.tenancy import sole_organisation
from smsdesk.mail import delivery
from smsdesk.mail.models import MailStop, OutgoingMail
from smsdesk.messaging import stats
from smsdesk.notify import notices
from tests.mail.smtp import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
DAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _setup(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_FROM = "Accueil <sms@example.org>"
    settings.SMSDESK_BASE_URL = "https://sms.example.org"
    settings.SMSDESK_EMAIL_SUMMARY_HOUR = 7
    settings.TIME_ZONE = "Europe/Paris"


def _at(hour: int, minute: int = 0, day: date = DAY, zone: zoneinfo.ZoneInfo = PARIS) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _user(name: str, *, summary: bool = True, org: Organisation | None = None) -> User:
    user = User.objects.create_user(
        name,
        password="correct horse 42",
        email=f"{name}@example.org",
        language="en",
        organisation=org or sole_organisation(),
    )
    return services.set_email_summary(user=user, on=summary)


def _counted(org: Organisation, day: date, **events: int) -> None:
    stats.add([(org.id, day, "simulator", "", 0, e, n, n) for e, n in events.items()])


def test_yesterdays_figures_once_from_the_hour_on(smtp_server: SMTPServer) -> None:
    org = sole_organisation()
    ana = _user("ana")
    _user("bob", summary=False)
    yesterday = DAY - timedelta(days=1)
    _counted(org, yesterday, sent=12, delivered=10, failed=2, received=7, blocked=3)
    _counted(org, DAY, sent=100, received=100)  # today's: not in it
    _counted(org, yesterday - timedelta(days=1), sent=50)  # the day before: not in it
    assert notices.daily_summaries(now=_at(6, 59)) == 0
    assert notices.daily_summaries(now=_at(7, 0)) == 1
    assert notices.daily_summaries(now=_at(7, 0)) == 0  # another worker, a restart: once
    assert notices.daily_summaries(now=_at(23, 59)) == 0
    assert delivery.run_due() == 1
    [msg] = smtp_server.inbox.messages
    assert msg["To"] == ana.email
    assert msg["Subject"] == "smsdesk: your SMS of 6 Dec 2026"
    text = msg.get_body(("plain",)).get_content()
    for label, n in [("sent", 12), ("delivered", 10), ("failed", 2), ("received", 7)]:
        assert f"SMS {label}: {n}" in text
    assert "SMS not sent (STOP list): 3" in text
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the next day, its own summary (nothing counted yesterday then: zeros)
    assert notices.daily_summaries(now=_at(7, 30, DAY + timedelta(days=1))) == 1
    assert "SMS sent: 100" in OutgoingMail.objects.order_by("-id").first().text  # type: ignore[union-attr]


def test_the_hour_is_the_organisations_own() -> None:
    org = sole_organisation()
    Organisation.objects.filter(id=org.id).update(time_zone="America/New_York")
    _user("ana")
    assert notices.daily_summaries(now=_at(7, 0)) == 0  # 01:00 in New York
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert notices.daily_summaries(now=_at(7, 0, zone=new_york)) == 1


def test_a_stopped_address_an_inactive_user_or_organisation_get_none() -> None:
    org = sole_organisation()
    ana = _user("ana")
    bob = _user("bob")
    MailStop.objects.create(address=ana.email, kind="daily_summary", at=_at(1))
    User.objects.filter(id=bob.id).update(is_active=False)
    assert notices.daily_summaries(now=_at(8)) == 0
    User.objects.filter(id=bob.id).update(is_active=True)
    Organisation.objects.filter(id=org.id).update(is_active=False)
    assert notices.daily_summaries(now=_at(9)) == 0
    assert not OutgoingMail.objects.exists()
    # asked again on Mon compte: the stop no longer holds
    services.set_email_summary(user=ana, on=True)
    assert not MailStop.objects.filter(address=ana.email).exists()


def test_mon_compte_and_the_command_line_set_it() -> None:
    ana = _user("ana", summary=False)
    client = Client()
    client.force_login(ana)
    answer = client.post(
        "/accounts/me/email/",
        {"email": ana.email, "email_copies": "none", "email_summary": "on"},
    )
    assert answer.status_code == 302
    ana.refresh_from_db()
    assert ana.email_summary
    assert Entry.objects.filter(after__email_summary=True).count() == 1
    client.post("/accounts/me/email/", {"email": ana.email, "email_copies": "none"})
    ana.refresh_from_db()
    assert not ana.email_summary
    call_command("user", "set", "ana", "--email-summary")
    ana.refresh_from_db()
    assert ana.email_summary


def test_the_summary_is_in_the_users_language() -> None:
    org = sole_organisation()
    ana = _user("ana")
    User.objects.filter(id=ana.id).update(language="fr")
    _counted(org, DAY - timedelta(days=1), sent=4)
    assert notices.daily_summaries(now=_at(7)) == 1
    [mail] = OutgoingMail.objects.all()
    assert mail.subject == "smsdesk : vos SMS du 06/12/2026"
    assert "SMS envoyés : 4" in mail.text
    assert "SMS non envoyés (liste STOP) : 0" in mail.text
