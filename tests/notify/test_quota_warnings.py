"""Quota warnings by mail: an organisation's administrators get one mail when its daily or
monthly SMS quota is 80 % used and one when it is all used (once per threshold and period,
a new limit arms them again), with the one-click stop; a real SMTP server receives it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import Organisation, User
from smsdesk.core.tenancy import sole_organisation
from smsdesk.mail import delivery
from smsdesk.mail.models import MailStop, OutgoingMail
from smsdesk.messaging import quotas
from smsdesk.messaging.models import GatewayState
from smsdesk.messaging.sending import create_campaign
from smsdesk.notify import notices
from tests.mail.smtp import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _setup(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_FROM = "Accueil <sms@example.org>"
    settings.SMSDESK_BASE_URL = "https://sms.example.org"
    GatewayState.objects.get_or_create(name="simulator", defaults={"kind": "simulator"})


def _user(name: str, role: str = "operator", org: Organisation | None = None) -> User:
    return User.objects.create_user(
        name,
        password="correct horse 42",
        email=f"{name}@example.org",
        role=role,
        language="en",
        organisation=org or sole_organisation(),
    )


def _send(author: User, parts: int) -> None:
    create_campaign(
        author=author,
        org=author.organisation,
        body="Rappel : rendez-vous demain",
        to=[f"+336110000{i:02d}" for i in range(parts)],
    )


def _quota(org: Organisation, *, day: int = 0, month: int = 0) -> None:
    Organisation.objects.filter(id=org.id).update(quota_day=day, quota_month=month)


def test_80_then_100_percent_of_the_daily_quota_each_mailed_once(
    smtp_server: SMTPServer,
) -> None:
    org = sole_organisation()
    alice = _user("alice", role="admin")
    bob = _user("bob")
    _quota(org, day=10)
    _send(bob, 7)
    assert notices.quota_warnings() == 0  # 70 %
    _send(bob, 1)
    assert notices.quota_warnings() == 1  # 80 %: to the administrator only
    assert notices.quota_warnings() == 0
    _send(bob, 1)
    assert notices.quota_warnings() == 0  # 90 %: already told
    _send(bob, 1)
    assert notices.quota_warnings() == 1  # 100 %
    assert notices.quota_warnings() == 0
    assert delivery.run_due() == 2
    first, second = smtp_server.inbox.messages
    assert {m["To"] for m in (first, second)} == {alice.email}
    assert "80 %" in first["Subject"] and "daily" in first["Subject"]
    text = first.get_body(("plain",)).get_content()
    assert "8 SMS parts of the 10" in text
    assert "used up" in second["Subject"]
    assert "Sends are refused until" in second.get_body(("plain",)).get_content()
    assert second["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the one-click stop: no more quota mails to that address
    url = re.fullmatch(r"<https://sms\.example\.org(/mail/stop/\S+/)>", second["List-Unsubscribe"])
    assert url is not None
    answer = Client(enforce_csrf_checks=True).post(
        url.group(1), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    assert MailStop.objects.filter(address=alice.email, kind="quota_warning").exists()


def test_a_jump_to_100_percent_is_one_mail_and_the_month_counts_apart() -> None:
    org = sole_organisation()
    _user("alice", role="admin")
    _quota(org, day=100, month=10)
    _send(_user("bob"), 10)
    assert notices.quota_warnings() == 1  # the month's 100 %, not also its 80 %
    [mail] = OutgoingMail.objects.all()
    assert "monthly" in mail.subject and "used up" in mail.subject
    assert notices.quota_warnings() == 0


def test_a_new_day_and_a_new_limit_arm_the_warnings_again() -> None:
    org = sole_organisation()
    _user("alice", role="admin")
    _quota(org, day=10)
    _send(_user("bob"), 8)
    assert notices.quota_warnings() == 1
    assert notices.quota_warnings(now=timezone.now() + timedelta(days=1)) == 0  # nothing used
    _quota(org, day=20)  # the provider raises it: 8 of 20 is 40 %
    assert notices.quota_warnings() == 0
    _quota(org, day=10)  # and back: 80 % of this limit was told already
    assert notices.quota_warnings() == 0
    _quota(org, day=9)  # 8 of 9: a new limit, told again
    assert notices.quota_warnings() == 1


def test_only_that_organisations_administrators_and_none_when_suspended_or_stopped() -> None:
    org = sole_organisation()
    other = Organisation.objects.create(name="Garage B", slug="b")
    _user("alice", role="admin", org=org)
    _user("zoe", role="admin", org=other)
    _quota(org, day=10)
    _quota(other, day=10)
    _send(_user("bob", org=org), 8)
    assert notices.quota_warnings() == 1
    assert list(OutgoingMail.objects.values_list("to", flat=True)) == ["alice@example.org"]
    quotas.take(other, 8)  # what a send of 8 parts counts (the other has no line here)
    Organisation.objects.filter(id=other.id).update(is_active=False)
    assert notices.quota_warnings() == 0
    Organisation.objects.filter(id=other.id).update(is_active=True)
    MailStop.objects.create(address="zoe@example.org", kind="quota_warning", at=timezone.now())
    assert notices.quota_warnings() == 0  # stopped: nothing queued, and told once all the same
    assert OutgoingMail.objects.count() == 1


def test_no_quota_no_mail() -> None:
    _user("alice", role="admin")
    _send(_user("bob"), 20)
    assert notices.quota_warnings() == 0


def test_the_mail_is_in_the_administrators_language() -> None:
    org = sole_organisation()
    alice = _user("alice", role="admin")
    User.objects.filter(id=alice.id).update(language="fr")
    _quota(org, day=10)
    _send(_user("bob"), 8)
    assert notices.quota_warnings() == 1
    [mail] = OutgoingMail.objects.all()
    assert mail.subject == "smsdesk : 80 % du quota quotidien de SMS utilisés"
    assert "8 parties de SMS sur les 10" in mail.text
    assert "8 parties de SMS sur les 10" in mail.html
