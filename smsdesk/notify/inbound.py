"""Reading a mail that answers a copy of an SMS: pure, the standard library only.

`parse` turns the bytes an MTA pipes in into a `Reply` (who sent it, to which addresses, its
Message-ID, the text typed above what it quotes) or raises `Unreadable`. `reply_text` keeps
what the person wrote: the quoted lines ("> "), the "On … wrote:" / "Le … a écrit :" line
and everything after it, an Outlook "-----Original Message-----" block and a signature after
"-- " are cut. An HTML-only mail is turned into text first (blockquotes dropped).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser


class Unreadable(ValueError):
    """Not a mail we can read (no sender, no text part, a broken MIME structure)."""


@dataclass(frozen=True)
class Reply:
    sender: str  # the From address, lower case
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To, Envelope-To
    message_id: str  # the Message-ID, or a digest of the bytes when it has none
    text: str  # what was typed above the quoted original
    automatic: bool  # an auto-reply or a bounce: never answered


RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")


def parse(raw: bytes) -> Reply:
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        senders = [a for _n, a in getaddresses([str(v) for v in msg.get_all("From", [])]) if a]
        recipients = tuple(
            a.lower()
            for h in RECIPIENT_HEADERS
            for _n, a in getaddresses([str(v) for v in msg.get_all(h, [])])
            if a
        )
        message_id = " ".join(str(msg.get("Message-ID", "")).split())[:200]
        automatic = _automatic(msg)
        body = msg.get_body(("plain", "html"))
        if body is None:
            raise Unreadable("no text in the mail")
        content = body.get_content()
        if not isinstance(content, str):
            raise Unreadable("no text in the mail")
        if body.get_content_subtype() == "html":
            content = html_to_text(content)
    except Unreadable:
        raise
    except Exception as e:  # whatever the bytes make the email package raise
        raise Unreadable(f"the mail cannot be read ({type(e).__name__})") from None
    if len(senders) != 1:
        raise Unreadable("the mail has no single sender (From)")
    return Reply(
        sender=senders[0].lower(),
        recipients=recipients,
        message_id=message_id or "sha256:" + hashlib.sha256(raw).hexdigest(),
        text=reply_text(content),
        automatic=automatic,
    )


def _automatic(msg: EmailMessage) -> bool:
    """RFC 3834's Auto-Submitted, a list's or a bulk mail's Precedence, a delivery report."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    return (
        auto != "no"
        or precedence in {"bulk", "list", "junk", "auto_reply"}
        or msg.get_content_type() == "multipart/report"
    )


# --- the text typed above the quoted original ---------------------------------------------

# "On Mon, 7 Dec 2026 at 15:00, smsdesk <sms@example.org> wrote:", "Le 7 déc. 2026 à 15:00,
# smsdesk <sms@example.org> a écrit :" (a mail client may break it over two lines), and the
# same in a few other languages mail clients write.
_ATTRIBUTION = re.compile(
    r"^\s*(on|le|am|el|il|op)\s.{0,300}?(wrote|a\s+écrit|schrieb|escribió|ha\s+scritto|schreef)"
    r"\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL = re.compile(
    r"^\s*(-{2,}\s*(original message|message d'origine|message original)\s*-{2,}"
    r"|_{10,})\s*$",
    re.IGNORECASE,
)


def reply_text(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.rstrip() in ("--", "-- ") or _ORIGINAL.match(line):
            break  # a signature, or Outlook's copy of the original below
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _ATTRIBUTION.match(line) or (
            following.rstrip().endswith(":") and _ATTRIBUTION.match(f"{line} {following}")
        ):
            break  # "On … wrote:", on one line or two
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


class _Text(HTMLParser):
    """The text of an HTML mail, without what it quotes (blockquote, Gmail's quote block),
    its styles and scripts."""

    SKIPPED = {"blockquote", "style", "script", "head", "title"}
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k == "class")
        if self.skipping or tag in self.SKIPPED or "gmail_quote" in classes:
            if tag not in {"br", "hr", "img", "meta", "link", "input"}:  # void: no end tag
                self.skipping.append(tag)
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.split("\n")))
