"""The outbox: written in the caller's transaction, sent by the worker's step, tried again
while the server is away, given up on a permanent refusal; every transport of
SMSDESK_EMAIL_URL."""

from __future__ import annotations

import email
import io
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from smsdesk import mailer
from smsdesk.mail import delivery, services
from smsdesk.mail.models import OutgoingMail
from tests.mail.smtp import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)


def _queue(to: str = "ana@example.org", subject: str = "Bonjour") -> OutgoingMail:
    return services.queue(
        to=to,
        kind=services.Kind.CAMPAIGN_FINISHED,
        subject=subject,
        text="Texte brut é",
        html="<p>Texte <b>HTML</b></p>",
        headers={"List-Unsubscribe": "<http://x/u/>"},
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp+tls://me%40x.org:p%3Ass@mail.example.org:587",
            ("smtp+tls", "mail.example.org", 587, "me@x.org", "p:ss", ""),
        ),
        ("smtp+ssl://mail.example.org", ("smtp+ssl", "mail.example.org", 465, "", "", "")),
        ("smtp://10.0.0.1:25", ("smtp", "10.0.0.1", 25, "", "", "")),
        ("console:", ("console", "", 0, "", "", "")),
        ("file:///var/mail/smsdesk", ("file", "", 0, "", "", "/var/mail/smsdesk")),
    ],
)
def test_it_parses_every_transport(url: str, expected: tuple[object, ...]) -> None:
    u = mailer.parse(url)
    assert (u.scheme, u.host, u.port, u.username, u.password, u.path) == expected
    assert "p:ss" not in u.masked()


@pytest.mark.parametrize(
    "url", ["http://x", "smtp://", "file://relative/x", "smtp://h:99999", "", "smtps//x"]
)
def test_it_refuses_what_is_not_a_transport(url: str) -> None:
    with pytest.raises(mailer.MailConfigError):
        mailer.parse(url)


def test_a_rollback_takes_the_mail_back() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue()
        raise RuntimeError
    assert not OutgoingMail.objects.exists()


def test_the_file_transport_writes_one_mail_per_file(settings, tmp_path: Path) -> None:
    settings.SMSDESK_EMAIL_URL = f"file://{tmp_path / 'out'}"
    _queue(subject="un")
    _queue(subject="deux")
    assert delivery.run_due() == 2
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 2
    assert (tmp_path / "out").stat().st_mode & 0o077 == 0
    msgs = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert sorted(str(m["Subject"]) for m in msgs) == ["deux", "un"]
    m = msgs[0]
    assert m.get_body(("plain",)).get_content().strip() == "Texte brut é"  # type: ignore[union-attr]
    assert "<b>HTML</b>" in m.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert m["List-Unsubscribe"] == "<http://x/u/>"
    assert set(OutgoingMail.objects.values_list("state", flat=True)) == {"sent"}


def test_the_console_transport_prints(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    mailer.ConsoleTransport(out).send(mailer.build(mailer.Mail("a@x.org", "b@x.org", "S", "T")))
    assert "Subject: S" in out.getvalue()


def test_a_real_smtp_server_receives_text_and_html(smtp_server: SMTPServer, settings) -> None:
    settings.SMSDESK_EMAIL_FROM = "Desk <desk@example.org>"
    _queue()
    assert delivery.run_due() == 1
    [msg] = smtp_server.inbox.messages
    assert smtp_server.inbox.envelopes == [("desk@example.org", ["ana@example.org"])]
    assert msg["From"] == "Desk <desk@example.org>"
    assert msg.get_body(("plain",)).get_content().strip() == "Texte brut é"
    assert msg.get_body(("html",)) is not None
    assert msg["Message-ID"].startswith("<smsdesk-")


def test_a_server_that_refuses_delays_and_loses_nothing(settings) -> None:
    # a port that refuses: a server was there, and is gone
    first = SMTPServer()
    first.start()
    port = first.port
    first.stop()
    settings.SMSDESK_EMAIL_URL = f"smtp://127.0.0.1:{port}"
    for i in range(20):
        _queue(subject=f"m{i}")
    assert delivery.run_due() == 0
    rows = list(OutgoingMail.objects.all())
    assert {r.state for r in rows} == {"pending"}
    # one connection tried, the others wait as long as it does: not 20 timeouts
    assert sorted(r.attempts for r in rows) == [0] * 19 + [1]
    assert "Refused" in next(r.last_error for r in rows if r.attempts)
    later = timezone.now() + timedelta(seconds=16)
    assert all(r.next_attempt_at > timezone.now() for r in rows)
    assert delivery.run_due(now=timezone.now()) == 0  # nothing due yet: nothing tried

    back = SMTPServer(port=port)
    back.start()
    try:
        assert delivery.run_due(now=later) == 20
    finally:
        back.stop()
    assert sorted(str(m["Subject"]) for m in back.inbox.messages) == sorted(
        f"m{i}" for i in range(20)
    )
    assert set(OutgoingMail.objects.values_list("state", flat=True)) == {"sent"}


def test_a_round_of_mails_takes_one_connection(smtp_server: SMTPServer) -> None:
    for i in range(15):
        _queue(subject=f"m{i}")
    assert delivery.run_due() == 15
    assert len(smtp_server.inbox.messages) == 15
    assert len(smtp_server.inbox.sessions) == 1


def test_a_permanent_refusal_gives_up_at_once(smtp_server: SMTPServer) -> None:
    async def refuse(server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        return "550 5.1.1 no such user"

    smtp_server.inbox.handle_RCPT = refuse  # type: ignore[attr-defined]
    m = _queue(to="nobody@example.org")
    assert delivery.run_due() == 0
    m.refresh_from_db()
    assert m.state == "failed"
    assert "550" in m.last_error
    assert smtp_server.inbox.messages == []


def test_a_mail_taken_by_another_worker_is_not_sent_twice(smtp_server: SMTPServer) -> None:
    m = _queue()
    assert delivery.take(m.id, timezone.now()) is not None
    assert delivery.deliver(m.id) is None
    assert smtp_server.inbox.messages == []


def test_the_sender_thread_of_the_worker_sends(smtp_server: SMTPServer) -> None:
    import threading

    _queue()
    stopping = threading.Event()
    sender = delivery.Sender(stopping, idle_sleep=0.05)
    sender.start()
    try:
        for _ in range(200):
            if smtp_server.inbox.messages:
                break
            stopping.wait(0.05)
    finally:
        stopping.set()
        sender.join(5)
    assert len(smtp_server.inbox.messages) == 1
