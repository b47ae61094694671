from collections.abc import Iterator

import pytest

from tests.mail.smtp import SMTPServer


@pytest.fixture
def smtp_server(settings) -> Iterator[SMTPServer]:  # type: ignore[no-untyped-def]
    server = SMTPServer()
    server.start()
    settings.SMSDESK_EMAIL_URL = server.url
    try:
        yield server
    finally:
        server.stop()
