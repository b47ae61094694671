"""Browser tests: the real app in headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop + Django ORM

CHROMIUM = os.environ.get("SMSDESK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = (
    Path(os.environ.get("SMSDESK_SCREENSHOT_DIR", ""))
    if os.environ.get("SMSDESK_SCREENSHOT_DIR")
    else None
)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test installs it (apt chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base = live_server.url
    # The browser reports what the Content-Security-Policy refused (an inline script, a
    # style attribute): no page may need such a thing.
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    context.close()
    assert refused == [], refused


@pytest.fixture
def running_worker(transactional_db) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The worker, in a thread, on the simulated network (delivers after half a second)."""
    from smsdesk.gateways.simulator import SimulatorGateway
    from smsdesk.worker.gateway_store import DatabaseGatewayStore
    from smsdesk.worker.loop import Worker

    # With the store the worker gives it: `smsdesk simulate` in another process reaches it.
    gateway = SimulatorGateway(
        delivery_delay=0.5,
        fail_permanent=["+33600000001"],
        store=DatabaseGatewayStore("simulator"),
    )
    worker = Worker([gateway], idle_sleep=0.2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield gateway
    worker.stop()
    thread.join(30)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
