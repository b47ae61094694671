"""The Statistics page as a user sees it, at desktop width (1280 px) and on a phone (390 px):
the period and the grouping chosen in the form, the chart drawn (Chart.js, served from the
project), the table with the same figures, the CSV downloaded. With SMSDESK_SCREENSHOT_DIR
set, the page is photographed at both widths."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from smsdesk.gateways.simulator import SimulatorGateway
from smsdesk.messaging import receiving, sending
from tests.browser.conftest import shot
from tests.browser.test_phone import DESKTOP, PHONE, log_in, sideways_overflow
from tests.worker.helpers import drain, runner_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAINTED = """() => {
  const c = document.getElementById('stats-chart');
  const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return painted;
}"""


def seed() -> None:
    long = "Un long message pour les soldes d'été. " * 5  # 195 GSM characters: 2 parts
    sending.create_campaign(author=None, body=long, to=["0612345671", "0612345672"], tag="Soldes")
    sending.create_campaign(author=None, body="Rappel", to=["0612345673"], tag="Rappel")
    drain(runner_for(SimulatorGateway(delivery_delay=0)))
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Merci", received_at=timezone.now()
    )


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("mobile", PHONE)])
def test_the_statistics_page_at_desktop_and_phone_width(page, name: str, viewport: dict) -> None:  # type: ignore[no-untyped-def]
    seed()
    page.set_viewport_size(viewport)
    log_in(page)
    if viewport is PHONE:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Statistiques").click()
    expect(page.get_by_role("heading", name="Statistiques", level=1)).to_be_visible()
    chart = page.locator("#stats-chart")
    expect(chart).to_have_attribute("data-drawn", "4")  # statistics.js drew the four series
    assert page.evaluate(PAINTED) > 500
    expect(page.locator("#stats-table tr.stats-row")).to_have_count(30)  # the last 30 days
    expect(page.locator("#stats-total td").first).to_have_text("3")  # sent
    assert sideways_overflow(page) == 0
    shot(page, f"statistiques-{name}")

    page.get_by_label("Regrouper par").select_option(label="Étiquette")
    page.get_by_role("button", name="Afficher").click()
    rows = page.locator("#stats-table tr.stats-row")
    expect(rows).to_have_count(3)  # Soldes, Rappel, and no tag (the SMS received)
    expect(rows.filter(has_text="sans étiquette").locator("td").nth(6)).to_have_text("1")
    soldes = rows.filter(has_text="Soldes")
    expect(soldes.locator("td").nth(0)).to_have_text("2")  # sent
    expect(soldes.locator("td").nth(1)).to_have_text("4")  # SMS parts: what is billed
    expect(chart).to_have_attribute("data-drawn", "4")
    assert sideways_overflow(page) == 0
    shot(page, f"statistiques-etiquettes-{name}")

    with page.expect_download() as download:
        page.locator("#stats-export").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "soldes;Soldes;2;4;" in text
