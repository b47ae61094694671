"""A real SMTP server for the tests (aiosmtpd), on a port the system picks, that keeps what
it receives."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.sessions: set[object] = set()  # the client ends (address, port) that carried mail
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.sessions.add(tuple(session.peer))
        return "250 OK"


class SMTPServer(Controller):
    """aiosmtpd's controller on port 0: the port it got is read once it listens."""

    def __init__(self, port: int = 0) -> None:
        self.inbox = Inbox()
        super().__init__(self.inbox, hostname="127.0.0.1", port=port)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"
