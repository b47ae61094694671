"""Django's EMAIL_BACKEND: what Django sends itself (the password reset form's mail) goes
into our outbox, in the current transaction, and the worker sends it like any other."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives

from smsdesk.mail import services


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        count = 0
        for m in email_messages:
            html = ""
            if isinstance(m, EmailMultiAlternatives):
                html = next((str(c) for c, t in m.alternatives if t == "text/html"), "")
            kind = str(m.extra_headers.pop("X-Smsdesk-Kind", "") or services.Kind.PASSWORD_RESET)
            for to in m.to:
                services.queue(
                    to=to,
                    kind=kind,
                    subject=str(m.subject),
                    text=str(m.body),
                    html=html,
                    headers={k: str(v) for k, v in m.extra_headers.items()},
                )
                count += 1
        return count
