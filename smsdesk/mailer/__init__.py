"""Outgoing mail as a transport, without Django: `SMSDESK_EMAIL_URL` parsed, a message built
(plain text + HTML, our own headers), and handed to an SMTP server, a folder or the console.

What is sent is decided elsewhere (smsdesk/mail/: the outbox the worker empties); this
package only knows how to hand one message over and how to say why it could not. A
`MailError` is `permanent` when trying again cannot help (the server refused the recipient
or the sender with a 5xx, an address that is not one): the outbox gives that mail up at once;
any other failure (connection refused, a timeout, a 4xx) is tried again later.

Why the standard library's smtplib and not Django's mail backends: the worker's sending
thread needs the server's own answer (code and text) to tell a temporary failure from a
permanent one, which Django's backend hides behind `fail_silently`; and this package stays
usable (and tested) without Django, as the gateways are.
"""

from __future__ import annotations

import contextlib
import email.policy
import email.utils
import os
import smtplib
import ssl
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import unquote, urlsplit

SCHEMES = ("smtp", "smtp+tls", "smtp+ssl", "console", "file")
DEFAULT_PORTS = {"smtp": 25, "smtp+tls": 587, "smtp+ssl": 465}
TIMEOUT = 20.0  # seconds for a connection and for each answer of the server


class MailConfigError(ValueError):
    """SMSDESK_EMAIL_URL or SMSDESK_EMAIL_FROM cannot be used (said in one line)."""


class MailError(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class MailURL:
    scheme: str
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""
    path: str = ""

    def masked(self) -> str:
        """The configuration as `smsdesk check` shows it: never the password."""
        if self.scheme == "console":
            return "console:"
        if self.scheme == "file":
            return f"file://{self.path}"
        user = f"{self.username}:***@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def parse(url: str) -> MailURL:
    """`smtp+tls://user:pass@host:587`, `smtp+ssl://host:465`, `smtp://host:25`,
    `console:`, `file:///a/folder`."""
    url = url.strip()
    if url in ("console:", "console://"):
        return MailURL("console")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise MailConfigError(
            f"{url.split(':', 1)[0]!r} is not a mail transport; use one of "
            "smtp+tls://user:password@host:587, smtp+ssl://host:465, smtp://host:25, "
            "console:, file:///a/folder"
        )
    if scheme == "console":
        return MailURL("console")
    if scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise MailConfigError("a file: address names an absolute folder: file:///a/folder")
        return MailURL("file", path=unquote(parts.path))
    if not parts.hostname:
        raise MailConfigError(f"{scheme}: names no host, as in {scheme}://host:port")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise MailConfigError("the port is not a number from 1 to 65535") from None
    return MailURL(
        scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def check_sender(sender: str) -> str:
    _name, address = email.utils.parseaddr(sender)
    if "@" not in address or any(c in sender for c in "\r\n"):
        raise MailConfigError(f"{sender!r} is not an address such as smsdesk@example.org")
    return sender


@dataclass
class Mail:
    """One mail as the outbox keeps it."""

    sender: str
    to: str
    subject: str
    text: str
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str = ""


def build(mail: Mail) -> EmailMessage:
    """The MIME message: plain text, and the HTML as its alternative (no image, no link
    tracking: what the HTML shows is what the text says)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = mail.sender
    msg["To"] = mail.to
    msg["Subject"] = " ".join(mail.subject.split())  # no line break may reach a header
    msg["Date"] = email.utils.formatdate(localtime=False)
    domain = email.utils.parseaddr(mail.sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = mail.message_id or email.utils.make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in mail.headers.items():
        msg[name] = " ".join(value.split())
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    return msg


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


def _recipients(msg: EmailMessage) -> list[str]:
    return [a for _n, a in email.utils.getaddresses([str(msg["To"] or "")]) if a]


class SMTPTransport:
    """Hands mails to an SMTP server. Inside `session()` one connection carries every mail
    (a round of the outbox: one TLS handshake and one login, not one per mail); outside, a
    connection per mail."""

    def __init__(self, url: MailURL, *, timeout: float = TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._server: smtplib.SMTP | None = None
        self._in_session = False

    def _connect(self) -> smtplib.SMTP:
        u = self.url
        if u.scheme == "smtp+ssl":
            return smtplib.SMTP_SSL(
                u.host, u.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        server = smtplib.SMTP(u.host, u.port, timeout=self.timeout)
        if u.scheme == "smtp+tls":
            server.starttls(context=ssl.create_default_context())
        return server

    def _open(self) -> smtplib.SMTP:
        server = self._connect()
        if self.url.username:
            server.login(self.url.username, self.url.password)
        return server

    @contextmanager
    def session(self) -> Iterator[None]:
        self._in_session = True
        try:
            yield
        finally:
            self._in_session = False
            self._close()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                server.close()

    def send(self, msg: EmailMessage) -> None:
        # sendmail with the message's own bytes: send_message would escape a line starting
        # with "From " as ">From " (mbox's rule, not SMTP's)
        sender = email.utils.parseaddr(str(msg["From"]))[1]
        data = msg.as_bytes()
        try:
            if not self._in_session:
                with self._open() as server:
                    refused = server.sendmail(sender, _recipients(msg), data)
            else:
                if self._server is None:
                    self._server = self._open()
                try:
                    refused = self._server.sendmail(sender, _recipients(msg), data)
                except smtplib.SMTPServerDisconnected:
                    self._server = self._open()  # it closed the kept connection: once more
                    refused = self._server.sendmail(sender, _recipients(msg), data)
        except smtplib.SMTPRecipientsRefused as e:
            raise MailError(_answer(e.recipients), permanent=_all_permanent(e.recipients)) from e
        except smtplib.SMTPResponseException as e:
            self._close()
            raw = e.smtp_error
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            raise MailError(
                f"{e.smtp_code} {text}"[:300], permanent=500 <= e.smtp_code < 600
            ) from e
        except (OSError, smtplib.SMTPException) as e:  # refused, unreachable, TLS, timeout
            self._close()
            raise MailError(f"{type(e).__name__}: {e}"[:300] or type(e).__name__) from e
        if refused:
            raise MailError(_answer(refused), permanent=_all_permanent(refused))


def _answer(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{addr}: {code} {text.decode('utf-8', 'replace')}"
        for addr, (code, text) in recipients.items()
    )[:300]


def _all_permanent(recipients: dict[str, tuple[int, bytes]]) -> bool:
    return all(500 <= code < 600 for code, _t in recipients.values())


class FileTransport:
    """One `.eml` file per mail in a folder (made 0700; files 0600: they hold reset links)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, msg: EmailMessage) -> None:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            fd, tmp = tempfile.mkstemp(prefix=f".{stamp}-", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as f:
                f.write(msg.as_bytes())
            # Renamed once whole: a reader never sees half a mail.
            os.replace(tmp, self.folder / (Path(tmp).name[1:-4] + ".eml"))
        except OSError as e:
            raise MailError(f"cannot write to {self.folder}: {e.strerror or e}") from e


class ConsoleTransport:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream

    def send(self, msg: EmailMessage) -> None:
        out = self.stream or sys.stdout
        out.write(msg.as_string() + "\n" + "-" * 72 + "\n")
        out.flush()


def session(transport: Transport) -> contextlib.AbstractContextManager[None]:
    """One connection for a round of mails, where the transport has connections."""
    return transport.session() if isinstance(transport, SMTPTransport) else nullcontext()


def transport_for(url: MailURL, *, timeout: float = TIMEOUT) -> Transport:
    if url.scheme == "console":
        return ConsoleTransport()
    if url.scheme == "file":
        return FileTransport(url.path)
    return SMTPTransport(url, timeout=timeout)


def reachable(url: MailURL, *, timeout: float = 5.0) -> str | None:
    """None when the server answers (a TCP connection and its greeting, nothing sent), else
    why not. The console and a folder are always reachable (the folder is checked apart)."""
    if url.scheme not in DEFAULT_PORTS:
        return None
    try:
        server = SMTPTransport(url, timeout=timeout)._connect()
        server.quit()
    except (OSError, smtplib.SMTPException) as e:
        return f"{type(e).__name__}: {e}"[:200]
    return None


__all__ = [
    "Mail",
    "MailConfigError",
    "MailError",
    "MailURL",
    "build",
    "check_sender",
    "parse",
    "reachable",
    "transport_for",
]
