"""Hostile input on the new entry points: the reset form, the code step, the stop link, the
Journal's filters, the audit API and command: refused in their own words, never a 500."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from smsdesk.accounts import services
from smsdesk.accounts.models import User
from smsdesk.mail.models import MailStop, OutgoingMail

pytestmark = pytest.mark.django_db

HOSTILE = ["", " ", "a" * 5000, "x@y\r\nBcc: all@example.org", "%ff%fe", "<script>", "é@é.é"]


@pytest.mark.parametrize("email", HOSTILE)
def test_the_reset_form(email: str) -> None:
    answer = Client().post("/accounts/password_reset/", {"email": email})
    assert answer.status_code in (200, 302, 429)
    assert not OutgoingMail.objects.exists()


@pytest.mark.parametrize("code", [*HOSTILE, "1" * 40, "-1", "１２３４５６"])
def test_the_code_step(code: str) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    bob = User.objects.create_user("bob", password="correct horse 42")
    TOTPDevice.objects.create(user=bob, name="app", confirmed=True)
    c = Client()
    c.post("/accounts/login/", {"username": "bob", "password": "correct horse 42"})
    assert c.post("/accounts/login/code/", {"code": code}).status_code == 400
    assert c.get("/").status_code == 302


@pytest.mark.parametrize("token", ["x", "a" * 900, "..", "eyJrIjoiaW5ib3VuZF9jb3B5In0:1:2"])
def test_the_stop_link(token: str) -> None:
    assert Client().post(f"/mail/stop/{token}/").status_code == 404
    assert not MailStop.objects.exists()


def test_a_stop_token_for_an_unknown_kind_is_refused() -> None:
    from django.core import signing

    from smsdesk.mail.services import UNSUBSCRIBE_SALT

    forged = signing.dumps({"k": "everything", "a": "x@example.org"}, salt=UNSUBSCRIBE_SALT)
    assert Client().post(f"/mail/stop/{forged}/").status_code == 404


@pytest.mark.parametrize(
    "query", ["action=%ff", "action=" + "x" * 300, "actor=<b>", "q=9" * 50, "since=never"]
)
def test_the_journal_filters(admin_user: User, query: str) -> None:
    c = Client()
    c.force_login(admin_user)
    assert c.get(f"/accounts/journal/?{query}").status_code == 200
    _t, raw = services.create_token(user=admin_user)
    answer = Client().get(f"/api/v1/audit?{query}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code in (200, 400, 422)


@pytest.mark.parametrize("since", ["never", "2020-13-45", "\x00"])
def test_the_audit_command(since: str) -> None:
    with pytest.raises(CommandError):
        call_command("audit", "list", "--since", since)


@pytest.mark.parametrize("email", ["not-an-address", "a@b\nc", "x" * 300 + "@example.org"])
def test_the_user_command(email: str) -> None:
    User.objects.create_user("eve", password="correct horse 42")
    with pytest.raises(CommandError):
        call_command("user", "set", "eve", "--email", email)
    assert User.objects.get(username="eve").email == ""
