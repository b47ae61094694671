from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsdesk.webhooks import events


@pytest.fixture(autouse=True)
def endpoints_read_afresh() -> Iterator[None]:
    """Each test reads the endpoints it made (the set of subscribed types is cached)."""
    events.forget()
    yield
    events.forget()
