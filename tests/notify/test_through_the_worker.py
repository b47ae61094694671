"""The whole chain in the worker: an SMS arrives from the simulated network, the worker
stores it, its housekeeping groups the copy into a mail, its mail thread hands it to a real
SMTP server; the SMS goes on being stored while the mail server refuses connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from smsdesk.accounts.models import User
from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging.models import Message
from smsdesk.worker.loop import Worker
from tests.mail.smtp import SMTPServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings) -> Iterator[SimulatorGateway]:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_COPY_GROUP_SECONDS = 0
    gateway = SimulatorGateway(delivery_delay=0)
    w = Worker([gateway], idle_sleep=0.1)
    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    yield gateway
    w.stop()
    thread.join(10)


def _until(check, seconds: float = 30) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_an_sms_received_by_the_worker_reaches_the_mail_server(
    settings, worker: SimulatorGateway
) -> None:
    User.objects.create_user("ana", email="ana@example.org", email_copies="all")
    server = SMTPServer()
    server.start()
    try:
        settings.SMSDESK_EMAIL_URL = server.url
        worker.inject_inbound("+33612345678", "Arrivé par le réseau simulé")
        assert _until(lambda: server.inbox.messages)
        [msg] = server.inbox.messages
        assert "Arrivé par le réseau simulé" in msg.get_body(("plain",)).get_content()
    finally:
        server.stop()


def test_sms_are_stored_while_the_mail_server_refuses(settings, worker: SimulatorGateway) -> None:
    User.objects.create_user("ana", email="ana@example.org", email_copies="all")
    gone = SMTPServer()
    gone.start()
    port = gone.port
    gone.stop()
    settings.SMSDESK_EMAIL_URL = f"smtp://127.0.0.1:{port}"
    for i in range(50):
        worker.inject_inbound(f"+336000000{i:02d}", f"SMS {i}")
    # every SMS stored, whatever the mail server does
    assert _until(lambda: Message.objects.filter(direction="in").count() == 50)
    from smsdesk.mail.models import OutgoingMail

    assert _until(lambda: OutgoingMail.objects.filter(attempts__gte=1).exists())
    assert not OutgoingMail.objects.filter(state="sent").exists()
