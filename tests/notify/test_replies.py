"""Reply by email: the copy of an SMS carries a signed Reply-To; a mail to it, piped to
`smsdesk mail receive`, goes out as an SMS from that user through the discussion's service.

End to end: a real SMTP server (aiosmtpd) gets the copy of an SMS received on the simulator
line; the test answers it (the original quoted below), pipes the answer to the command as a
process, and the worker sends the SMS through the simulator (delivered). The refusals: a
forged or altered token, another sender, a read-only or inactive user, a number on the STOP
list, an empty reply, the same mail twice, a huge, binary or broken mail: a clear reason,
exit 2, nothing stored.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.utils import timezone, translation

from smsdesk.accounts.models import Organisation, User
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.mail.models import OutgoingMail
from smsdesk.messaging import receiving
from smsdesk.messaging.models import Campaign, Conversation, GatewayState, Message
from smsdesk.notify import copies, replies
from smsdesk.notify.models import MailReply
from smsdesk.optout import services as optout
from smsdesk.worker.loop import Worker
from tests.mail.smtp import SMTPServer
from tests.ops.processes import environment
from tests.worker.helpers import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

PEER = "+33612345678"


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """The refusals read in English below (the users' language is English too)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _replies_on(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_COPY_GROUP_SECONDS = 0
    settings.SMSDESK_EMAIL_FROM = "Accueil <sms@example.org>"
    settings.SMSDESK_BASE_URL = "https://sms.example.org"
    settings.SMSDESK_EMAIL_REPLY = True
    GatewayState.objects.get_or_create(name="simulator", defaults={"kind": "simulator"})


def _user(name: str = "ana", role: str = "operator", **kw: object) -> User:
    kw.setdefault("language", "en")
    return User.objects.create_user(
        name, password="correct horse 42", email=f"{name}@example.org", role=role, **kw
    )


def _receive_sms(text: str = "Pouvez-vous me rappeler ?", sender: str = PEER) -> Conversation:
    receiving.receive_inbound(
        gateway="simulator", sender=sender, text=text, received_at=timezone.now()
    )
    return Conversation.objects.get(peer=sender)


def _address(user: User, conversation: Conversation) -> str:
    return replies.reply_address(
        org_id=conversation.organisation_id, conversation_id=conversation.id, user_id=user.id
    )


def _mail(
    to: str,
    text: str = "Oui, je vous rappelle à 15 h.",
    *,
    sender: str = "Ana <ana@example.org>",
    message_id: str = "<reply-1@example.org>",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Re: SMS"
    msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return bytes(msg)


def _outbound() -> list[Message]:
    return list(Message.objects.filter(direction=Message.Direction.OUTBOUND).order_by("id"))


def _nothing_stored() -> None:
    assert not _outbound()
    assert not Campaign.objects.exists()
    assert not MailReply.objects.exists()


def _command(raw: bytes, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", "mail", "receive", *args],
        cwd=ROOT,
        env=env,
        input=raw,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def command_env(settings, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The command as a mail server runs it: its own process, this installation's secret
    key (what signs the reply addresses) and database."""
    return environment(
        tmp_path,
        SMSDESK_SECRET_KEY=settings.SECRET_KEY,
        SMSDESK_EMAIL_FROM=settings.SMSDESK_EMAIL_FROM,
    )


# --- end to end -----------------------------------------------------------------------------


@pytest.fixture
def worker() -> Iterator[SimulatorGateway]:
    gateway = SimulatorGateway(delivery_delay=0)
    w = Worker([gateway], idle_sleep=0.1)
    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    yield gateway
    w.stop()
    thread.join(10)


def _until(check, seconds: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_reply_to_the_copy_goes_out_as_an_sms_through_the_simulator(
    settings, worker: SimulatorGateway, command_env: dict[str, str]
) -> None:
    ana = _user(email_copies="all")
    server = SMTPServer()
    server.start()
    try:
        settings.SMSDESK_EMAIL_URL = server.url
        worker.inject_inbound(PEER, "Pouvez-vous me rappeler avant 16 h ?")
        assert _until(lambda: server.inbox.messages)
        [copy] = server.inbox.messages
    finally:
        server.stop()
    # the copy: the SMS's text, its sender, the one-click stop, the signed reply address
    assert server.inbox.envelopes[0] == ("sms@example.org", ["ana@example.org"])
    text = copy.get_body(("plain",)).get_content()
    assert "Pouvez-vous me rappeler avant 16 h ?" in text
    assert PEER in text and PEER in copy["Subject"]
    assert copy["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert copy["List-Unsubscribe"].startswith("<https://sms.example.org/mail/stop/")
    reply_to = str(copy["Reply-To"])
    assert reply_to.startswith("reply+") and reply_to.endswith("@example.org")
    assert len(reply_to.partition("@")[0]) <= 64  # RFC 5321's limit for a local part
    # the answer, as a mail client writes it: the original quoted below, a signature
    quoted = "\n".join(f"> {line}" for line in text.splitlines())
    answer = EmailMessage()
    answer["From"] = "Ana Martin <ANA@example.org>"
    answer["To"] = reply_to
    answer["Subject"] = f"Re: {copy['Subject']}"
    answer["Message-ID"] = "<answer-1@mail.example.org>"
    answer["In-Reply-To"] = copy["Message-ID"]
    answer.set_content(
        "Bonjour, je vous rappelle à 15 h.\n\n"
        "Le lun. 7 déc. 2026 à 15:02, Accueil <sms@example.org> a\n"
        "écrit :\n" + quoted + "\n\n-- \nAna Martin\nCabinet Martin\n"
    )
    done = _command(bytes(answer), env=command_env)
    assert done.returncode == 0, done.stderr
    assert _until(
        lambda: Message.objects.filter(
            direction="out", status=Message.Status.DELIVERED, peer=PEER
        ).exists()
    )
    [sms] = _outbound()
    assert sms.body == "Bonjour, je vous rappelle à 15 h."
    assert sms.author_id == ana.id
    assert sms.gateway_id == worker.name
    assert sms.campaign.source == "mail"
    # the mail server delivers the same mail again: sent once
    again = _command(bytes(answer), env=command_env)
    assert again.returncode == 0
    assert b"received before" in again.stderr
    assert len(_outbound()) == 1
    assert MailReply.objects.get().campaign_id == sms.campaign_id


def test_a_forged_token_exits_2_with_one_line_and_stores_nothing(
    command_env: dict[str, str],
) -> None:
    ana = _user()
    conversation = _receive_sms()
    good = _address(ana, conversation)
    local, _at, domain = good.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    done = _command(_mail(forged), env=command_env)
    assert done.returncode == 2
    assert done.stderr.decode().startswith("smsdesk: refused: ")
    assert done.stderr.decode().count("\n") <= 1
    _nothing_stored()
    assert not OutgoingMail.objects.filter(kind="reply_refused").exists()  # no backscatter


def test_a_huge_mail_is_refused_by_the_command(command_env: dict[str, str]) -> None:
    ana = _user()
    raw = _mail(_address(ana, _receive_sms()), "x" * (replies.MAX_BYTES + 10))
    done = _command(raw, env=command_env)
    assert done.returncode == 2
    assert done.stderr.decode().startswith("smsdesk: refused: ")
    assert "10 " in done.stderr.decode()  # the limit named
    _nothing_stored()


# --- the checks, in the process -------------------------------------------------------------


def test_the_token_names_organisation_conversation_and_user_and_cannot_be_altered() -> None:
    tok = replies.token(org_id=1, conversation_id=123456789, user_id=42)
    assert tok == tok.lower() and replies.read_token(tok) == (1, 123456789, 42)
    assert replies.read_token(tok.upper()) == (1, 123456789, 42)  # a server that folds case
    ids, _sep, mac = tok.rpartition("-")
    other = replies.token(org_id=1, conversation_id=123456789, user_id=43)
    assert replies.read_token(other.rpartition("-")[0] + "-" + mac) is None
    assert replies.read_token(ids.replace("-", "-1", 1) + "-" + mac) is None
    for junk in ("", "reply", "1-2-3-" + "a" * 24, "\x00", "1-2-3", "é" * 40):
        assert replies.read_token(junk) is None
    biggest = replies.token(org_id=2**63 - 1, conversation_id=2**63 - 1, user_id=2**63 - 1)
    assert replies.read_token(biggest) == (2**63 - 1,) * 3
    # signed, but naming an id no column holds: none (no query that would overflow)
    assert replies.read_token(replies.token(org_id=2**63, conversation_id=1, user_id=1)) is None


def test_another_sender_is_refused_and_not_answered() -> None:
    ana = _user()
    _user("bob")
    to = _address(ana, _receive_sms())
    for sender in ("bob@example.org", "ana@example.org.evil.test", "", "a@x, ana@example.org"):
        with pytest.raises(replies.Refused):
            replies.receive(_mail(to, sender=sender))
    _nothing_stored()
    assert not OutgoingMail.objects.exists()


def test_a_read_only_user_is_refused_and_told_why() -> None:
    reader = _user("rita", role="read_only")
    with pytest.raises(replies.Refused, match="read-only"):
        replies.receive(_mail(_address(reader, _receive_sms()), sender="rita@example.org"))
    _nothing_stored()
    [answer] = OutgoingMail.objects.all()
    assert answer.to == "rita@example.org" and answer.kind == "reply_refused"
    assert "read-only" in answer.text


def test_an_inactive_user_or_a_suspended_organisation_is_refused() -> None:
    ana = _user()
    conversation = _receive_sms()
    ana.is_active = False
    ana.save()
    with pytest.raises(replies.Refused, match="cannot send SMS any more"):
        replies.receive(_mail(_address(ana, conversation)))
    ana.is_active = True
    ana.save()
    Organisation.objects.filter(id=conversation.organisation_id).update(is_active=False)
    with pytest.raises(replies.Refused, match="cannot send SMS any more"):
        replies.receive(_mail(_address(ana, conversation), message_id="<other@example.org>"))
    _nothing_stored()


def test_a_user_moved_to_another_organisation_cannot_use_an_old_address() -> None:
    ana = _user()
    conversation = _receive_sms()
    to = _address(ana, conversation)
    ana.organisation = Organisation.objects.create(name="Garage B", slug="b")
    ana.save()
    with pytest.raises(replies.Refused, match="not valid any more"):
        replies.receive(_mail(to))
    _nothing_stored()


def test_a_number_on_the_stop_list_is_refused_with_nothing_stored() -> None:
    ana = _user()
    conversation = _receive_sms()
    optout.opt_out(PEER, source="manual", org=conversation.organisation)
    with pytest.raises(replies.Refused, match="STOP"):
        replies.receive(_mail(_address(ana, conversation)))
    _nothing_stored()
    [answer] = OutgoingMail.objects.all()
    assert "STOP" in answer.text


def test_a_quota_reached_is_refused() -> None:
    ana = _user()
    conversation = _receive_sms()
    Organisation.objects.filter(id=conversation.organisation_id).update(quota_day=1)
    with pytest.raises(replies.Refused):
        replies.receive(_mail(_address(ana, conversation), "x" * 200))  # 2 parts
    _nothing_stored()


def test_an_empty_reply_and_an_automatic_mail_are_refused() -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    with pytest.raises(replies.Refused, match="empty"):
        replies.receive(_mail(to, "> only the quoted original\n\n-- \nAna"))
    with pytest.raises(replies.Refused, match="automatic"):
        replies.receive(_mail(to, "Je suis absente.", Auto_Submitted="auto-replied"))
    _nothing_stored()
    assert OutgoingMail.objects.count() == 1  # the empty one answered, the automatic one not


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe" * 1000,
        b"From: ana@example.org\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all",
        b"From: ana@example.org\r\nContent-Type: text/plain; charset=nope-42\r\n\r\nhi",
        b"From: \xff\xfe@\x00\r\nTo: reply+\x00@x\r\n\r\n\xff",
        b"Content-Type: image/png\r\n\r\n\x89PNG",
    ],
)
def test_hostile_mails_are_refused_with_nothing_stored(raw: bytes) -> None:
    _user()
    _receive_sms()
    with pytest.raises(replies.Refused):
        replies.receive(raw)
    _nothing_stored()


def test_a_binary_body_with_a_valid_address_is_refused_or_kept_as_text() -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    raw = _mail(to, "placeholder").replace(b"placeholder", b"\x00\x01\x02 bonjour")
    with pytest.raises(replies.Refused, match="control character"):
        replies.receive(raw)
    _nothing_stored()


def test_an_html_only_reply_is_read_as_text_without_its_quote() -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    msg = EmailMessage()
    msg["From"] = "ana@example.org"
    msg["To"] = to
    msg["Message-ID"] = "<html-1@example.org>"
    msg.set_content(
        "<html><head><style>p{color:red}</style></head><body><div>D'accord,"
        " <b>demain</b> &agrave; 9 h.</div><div class='gmail_quote'>Le lun. a écrit :"
        "<blockquote>Pouvez-vous me rappeler ?</blockquote></div></body></html>",
        subtype="html",
    )
    outcome = replies.receive(bytes(msg))
    assert outcome.campaign_id is not None
    [sms] = _outbound()
    assert sms.body == "D'accord, demain à 9 h."


def test_the_recipient_given_by_the_mail_server_wins_over_the_headers() -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    outcome = replies.receive(_mail("someone@example.org"), recipient=to)
    assert outcome.peer == PEER and outcome.campaign_id is not None
    with pytest.raises(replies.Refused):
        replies.receive(_mail(to, message_id="<2@x>"), recipient="reply+nope@example.org")


def test_the_same_message_id_sends_once_but_another_mail_sends_again() -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    assert replies.receive(_mail(to)).campaign_id is not None
    assert replies.receive(_mail(to)).campaign_id is None
    assert replies.receive(_mail(to, message_id="<reply-2@example.org>")).campaign_id
    assert len(_outbound()) == 2


def test_a_copy_about_several_correspondents_has_no_reply_address() -> None:
    _user(email_copies="all")
    _receive_sms(sender="+33611111111")
    _receive_sms(sender="+33622222222")
    copies.flush()
    [mail] = OutgoingMail.objects.all()
    assert "Reply-To" not in mail.headers


def test_no_reply_address_while_replies_by_mail_are_off(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_REPLY = False
    _user(email_copies="all")
    _receive_sms()
    copies.flush()
    [mail] = OutgoingMail.objects.all()
    assert "Reply-To" not in mail.headers
    assert "reply by SMS" not in mail.text


def test_an_extra_copy_address_gets_no_reply_address(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_COPIES_TO = ["accueil@example.org"]
    _receive_sms()
    copies.flush()
    [mail] = OutgoingMail.objects.all()
    assert "Reply-To" not in mail.headers


def test_the_reply_domain_setting(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_REPLY_DOMAIN = "replies.example.net"
    ana = _user(email_copies="all")
    _receive_sms()
    copies.flush()
    [mail] = OutgoingMail.objects.all()
    assert mail.headers["Reply-To"].endswith("@replies.example.net")
    assert replies.receive(_mail(mail.headers["Reply-To"])).campaign_id
    assert _outbound()[0].author_id == ana.id


def test_the_refusal_is_in_the_users_language() -> None:
    reader = _user("rita", role="read_only", language="fr")
    with pytest.raises(replies.Refused, match="lecture seule"):
        replies.receive(_mail(_address(reader, _receive_sms()), sender="rita@example.org"))
    [answer] = OutgoingMail.objects.all()
    assert "n’a pas été envoyée en SMS" in answer.subject
    assert "lecture seule" in answer.text
