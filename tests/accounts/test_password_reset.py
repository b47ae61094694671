"""Forgotten password, end to end: the form, the outbox, the worker's step writing the mail
to a folder (SMSDESK_EMAIL_URL=file://), the link read from that file, the new password; the
user's other sessions ended; the link refused a second time; the same answer for an unknown
address; the rate limit."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from smsdesk.accounts.models import LoginSession, User
from smsdesk.mail import delivery
from smsdesk.mail.models import OutgoingMail

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(settings, tmp_path: Path) -> Path:
    settings.SMSDESK_EMAIL_URL = f"file://{tmp_path / 'mail'}"
    # the test runner puts Django's in-memory backend in place of ours: ours again
    settings.EMAIL_BACKEND = "smsdesk.mail.backend.OutboxBackend"
    return tmp_path / "mail"


@pytest.fixture
def ana(db) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user(
        "ana", email="ana@example.org", password="old horse battery 9", language="en"
    )


def _logs_in(client: Client, username: str, password: str) -> bool:
    answer = client.post("/accounts/login/", {"username": username, "password": password})
    return answer.status_code == 302


def _mails(folder: Path) -> list[email.message.EmailMessage]:
    delivery.run_due()
    return [
        email.message_from_bytes(f.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for f in sorted(folder.glob("*.eml"))
    ]


def _link(msg: email.message.EmailMessage) -> str:
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return re.search(r"http://testserver(/accounts/reset/\S+/)", text).group(1)  # type: ignore[union-attr]


def test_the_reset_flow_end_to_end(folder: Path, ana: User) -> None:
    elsewhere = Client()
    assert _logs_in(elsewhere, "ana", "old horse battery 9")
    assert elsewhere.get("/").status_code == 200

    anonymous = Client()
    answer = anonymous.post("/accounts/password_reset/", {"email": "ANA@example.org"})
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/password_reset/done/"
    [msg] = _mails(folder)
    assert msg["To"] == "ana@example.org"
    assert msg["Subject"] == "smsdesk: choose a new password"  # her language: English
    assert msg.get_body(("html",)) is not None
    link = _link(msg)

    page = anonymous.get(link, follow=True)
    assert page.status_code == 200
    assert b"new_password1" in page.content
    done = anonymous.post(
        page.redirect_chain[-1][0],
        {"new_password1": "new horse staple 77", "new_password2": "new horse staple 77"},
    )
    assert done.status_code == 302
    assert done["Location"] == "/accounts/reset/done/"

    # the session opened before is over, the new password works, the old one does not
    assert not LoginSession.objects.filter(user_id=ana.id).exists()
    assert elsewhere.get("/").status_code == 302
    assert _logs_in(Client(), "ana", "new horse staple 77")
    assert not _logs_in(Client(), "ana", "old horse battery 9")

    # the link a second time: refused
    again = Client().get(link, follow=True)
    assert b"reset-invalid" in again.content
    assert b"new_password1" not in again.content


def test_an_unknown_address_gets_the_same_answer_and_no_mail(folder: Path, ana: User) -> None:
    known = Client().post("/accounts/password_reset/", {"email": "ana@example.org"})
    unknown = Client().post("/accounts/password_reset/", {"email": "who@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert OutgoingMail.objects.count() == 1


def test_a_suspended_user_gets_no_link(folder: Path, ana: User) -> None:
    ana.is_active = False
    ana.save()
    Client().post("/accounts/password_reset/", {"email": "ana@example.org"})
    assert not OutgoingMail.objects.exists()


def test_requests_are_limited_per_address_and_per_client(settings, folder: Path, ana: User) -> None:
    settings.SMSDESK_PASSWORD_RESET_PER_HOUR = 2
    c = Client()
    for _ in range(2):
        assert c.post("/accounts/password_reset/", {"email": "ana@example.org"}).status_code == 302
    refused = c.post("/accounts/password_reset/", {"email": "ana@example.org"})
    assert refused.status_code == 429
    # from elsewhere, the same address: still refused (per address)
    other = Client(REMOTE_ADDR="192.0.2.9")
    assert other.post("/accounts/password_reset/", {"email": "ana@example.org"}).status_code == 429
    # an unknown address counts the same: no way to tell who has an account
    for address in ("x1@example.org", "x2@example.org"):
        other.post("/accounts/password_reset/", {"email": address})
    assert other.post("/accounts/password_reset/", {"email": "x3@example.org"}).status_code == 429
    assert OutgoingMail.objects.count() == 2


def test_an_old_link_is_refused(settings, folder: Path, ana: User) -> None:
    Client().post("/accounts/password_reset/", {"email": "ana@example.org"})
    link = _link(_mails(folder)[0])
    settings.PASSWORD_RESET_TIMEOUT = -1  # the link's time is over
    assert b"reset-invalid" in Client().get(link, follow=True).content


def test_the_commands_set_the_email(db, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    call_command("createuser", "zoe", "--email", "zoe@example.org")
    call_command("user", "set", "zoe", "--email-copies", "mine", "--require-2fa")
    zoe = User.objects.get(username="zoe")
    assert (zoe.email, zoe.email_copies, zoe.require_2fa) == ("zoe@example.org", "mine", True)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="adresse e-mail"):
        call_command("user", "set", "zoe", "--email", "not-an-address")
    call_command("user", "set", "zoe", "--no-require-2fa")
    zoe.refresh_from_db()
    assert zoe.require_2fa is False


def test_mon_compte_sets_the_email_and_the_copies(client_bob, operator: User) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.mail import services as mail

    mail.stop(address="bob@example.org", kind=mail.Kind.INBOUND_COPY)
    answer = client_bob.post(
        "/accounts/me/email/", {"email": "bob@example.org", "email_copies": "mine"}
    )
    assert answer.status_code == 302
    operator.refresh_from_db()
    assert (operator.email, operator.email_copies) == ("bob@example.org", "mine")
    # chosen again: the earlier "stop these mails" no longer holds
    assert not mail.stopped(address="bob@example.org", kind=mail.Kind.INBOUND_COPY)
    client_bob.post("/accounts/me/email/", {"email": "bob@", "email_copies": "all"})
    operator.refresh_from_db()
    assert operator.email == "bob@example.org"
    assert b'id="email"' in client_bob.get("/accounts/me/").content
