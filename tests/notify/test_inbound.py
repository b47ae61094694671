"""The text of a reply: what was typed above the quoted original (notify/inbound.py)."""

from __future__ import annotations

import pytest

from smsdesk.notify.inbound import Unreadable, html_to_text, parse, reply_text


@pytest.mark.parametrize(
    ("mail", "kept"),
    [
        ("Oui.\n\n> Pouvez-vous ?\n> merci", "Oui."),
        ("Oui.\r\n\r\nOn Mon, 7 Dec 2026 at 15:00, smsdesk <sms@x.org> wrote:\r\n> hi", "Oui."),
        ("Oui.\n\nLe 7 déc. 2026 à 15:00, Accueil <sms@x.org> a écrit :\n> hi", "Oui."),
        ("Oui.\nLe lun. 7 déc. 2026 à 15:00, Accueil <\nsms@x.org> a écrit :\n\nhi", "Oui."),
        ("Oui.\n-- \nAna\nCabinet", "Oui."),
        ("Oui.\n\n-----Original Message-----\nFrom: x", "Oui."),
        ("Oui.\n\n-----Message d'origine-----\nDe : x", "Oui."),
        ("Ligne 1\nLigne 2  \n\n", "Ligne 1\nLigne 2"),
        ("> tout cité", ""),
        ("Le rendez-vous tient.\nÀ demain.", "Le rendez-vous tient.\nÀ demain."),
    ],
)
def test_reply_text(mail: str, kept: str) -> None:
    assert reply_text(mail) == kept


def test_html_to_text_keeps_words_apart_and_drops_quotes_and_styles() -> None:
    html = (
        "<style>b{}</style><p>Bonjour <b>Paul</b>,</p><p>à&nbsp;demain</p>"
        "<blockquote><p>cité <i>dedans</i></p></blockquote><div>fin</div>"
    )
    # a non-breaking space becomes a space (it is not in the GSM alphabet)
    assert html_to_text(html).strip() == "Bonjour Paul,\n\nà demain\n\nfin"


def test_parse_reads_sender_recipients_and_message_id() -> None:
    raw = (
        b"From: Ana <ANA@Example.org>\r\nTo: x@y.org\r\nDelivered-To: reply+abc@y.org\r\n"
        b"Message-ID: <m1@y.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOui\r\n"
    )
    reply = parse(raw)
    assert reply.sender == "ana@example.org"
    assert reply.recipients == ("reply+abc@y.org", "x@y.org")
    assert reply.message_id == "<m1@y.org>" and reply.text == "Oui" and not reply.automatic


def test_a_mail_without_message_id_is_known_by_its_bytes() -> None:
    raw = b"From: a@b.org\r\n\r\nOui\r\n"
    assert parse(raw).message_id == parse(raw).message_id != parse(raw + b" ").message_id


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff" * 100,
        b"To: a@b.org\r\n\r\nhi",
        b"From: a@b.org, c@d.org\r\n\r\nhi",
        b"From: a@b.org\r\nContent-Type: application/octet-stream\r\n\r\n\x00",
    ],
)
def test_unreadable(raw: bytes) -> None:
    with pytest.raises(Unreadable):
        parse(raw)
