"""The home page's chart is drawn (Chart.js, served from the project) at desktop width and
on a phone, from the maintained counters; its figures are also there as a table. With
SMSDESK_SCREENSHOT_DIR set, the page is photographed at both widths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from smsdesk.messaging import stats
from tests.browser.conftest import shot
from tests.browser.test_phone import DESKTOP, PHONE, log_in, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Does the canvas hold anything but blank pixels? (An undrawn canvas is all zeros.)
PAINTED = """() => {
  const c = document.getElementById('home-chart');
  const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return painted;
}"""


def test_the_home_chart_is_drawn_on_a_desktop_and_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    for days_ago in range(30):
        at = now - timedelta(days=days_ago)
        stats.count(stats.Event.SENT, at=at, gateway="simulator", n=20 + days_ago % 7 * 5)
        stats.count(stats.Event.DELIVERED, at=at, gateway="simulator", n=18)
        stats.count(stats.Event.REPORTED, at=at, gateway="simulator", n=20)
        stats.count(stats.Event.RECEIVED, at=at, gateway="simulator", n=3 + days_ago % 4)
    log_in(page)
    for name, viewport in (("desktop", DESKTOP), ("mobile", PHONE)):
        page.set_viewport_size(viewport)
        page.goto(page.base + "/")
        chart = page.locator("#home-chart")
        expect(chart).to_have_attribute("data-drawn", "2")  # home.js drew both series
        assert page.evaluate(PAINTED) > 1000
        box = chart.bounding_box()
        assert box is not None and 0 < box["width"] <= viewport["width"]
        assert sideways_overflow(page) == 0
        # The same figures, for screen readers and without JavaScript.
        table = page.locator("#chart-table")
        expect(table.locator("tbody tr")).to_have_count(30)
        shot(page, f"accueil-graphique-{name}")
