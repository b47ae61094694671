"""The Passerelles page with routing (issue 18), as an administrator sees it at 1280 and 390
px: a line over its daily limit with its use ("3 / 3 aujourd’hui"), a line the watch paused
with why (on the page and in the banner of every page), resumed with its button. The worker
runs in-process on two simulator lines."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.gateways import registry
from smsdesk.messaging import gateway_state, sending
from smsdesk.messaging.models import GatewayState, Message
from smsdesk.worker.loop import Worker
from tests.browser.conftest import shot
from tests.browser.test_accessibility import axe_problems
from tests.worker.helpers import wait_until

pytestmark = pytest.mark.slow

BAD = [f"+3360000{i:04d}" for i in range(5)]
LINES = [
    "orange=simulator?priority=9&limit_day=3&limit_month=10000&delivery_delay=0&sender=MYSHOP",
    "free=simulator?priority=1&delivery_delay=0&fail_permanent=" + ",".join(n[1:] for n in BAD),
]


def no_horizontal_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_limits_use_and_a_paused_line_at_1280_and_390(page, transactional_db) -> None:  # type: ignore[no-untyped-def]
    previous = settings.SMSDESK_GATEWAYS, settings.SMSDESK_WATCH_MIN_MESSAGES
    settings.SMSDESK_GATEWAYS = LINES
    settings.SMSDESK_WATCH_MIN_MESSAGES = 5
    worker = Worker([registry.build(s) for s in gateway_state.configured()], idle_sleep=0.2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        to_orange = sending.create_campaign(
            author=None, body="Soldes", to=[f"+336100000{i:02d}" for i in range(5)]
        )
        sending.create_campaign(author=None, body="Bonjour", to=BAD, gateway="free")
        ids = [m.id for m in to_orange.created_messages]
        wait_until(
            lambda: Message.objects.filter(id__in=ids, status="delivered").count() == 3,
            60,
            "orange's 3 delivered",
        )
        wait_until(
            lambda: GatewayState.objects.filter(name="free", paused_at__isnull=False).exists(),
            60,
            "the watch pauses free",
        )
        User.objects.create_user("alice", password="un mot de passe 42", role=User.Role.ADMIN)
        page.goto(page.base + "/gateways/")
        page.get_by_label("Nom d’utilisateur").fill("alice")
        page.get_by_label("Mot de passe").fill("un mot de passe 42")
        page.get_by_role("button", name="Connexion").click()
        orange, free = page.locator("#gateway-orange"), page.locator("#gateway-free")
        expect(orange.locator(".sd-limits")).to_contain_text("3 / 3 aujourd’hui")
        expect(orange.locator(".sd-limits")).to_contain_text("3 / 10000 ce mois-ci")
        expect(orange.locator(".sd-over")).to_have_text("limite atteinte")
        expect(orange).to_contain_text("MYSHOP")
        expect(free.locator(".sd-paused")).to_have_text("en pause")
        expect(free.locator(".sd-pause-why")).to_contain_text(
            "100 % de ses 5 derniers SMS ont échoué"
        )
        banner = page.locator("#line-paused-free")
        expect(banner).to_contain_text("mise en pause par la surveillance")
        assert no_horizontal_scroll(page)
        assert axe_problems(page) == []
        shot(page, "routing-passerelles-1280")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(free.locator(".sd-pause-why")).to_be_visible()
        expect(orange.locator(".sd-limits")).to_be_visible()
        assert no_horizontal_scroll(page)
        assert axe_problems(page) == []
        shot(page, "routing-passerelles-390")
        # the routing form opens, readable on a phone
        routing = page.locator("#routing-orange")
        routing.locator("summary").click()
        expect(routing.get_by_label("Limite par jour")).to_have_value("3")
        routing.get_by_label("Limite par jour").fill("5")
        routing.get_by_role("button", name="Enregistrer").click()
        expect(page.locator(".alert-success")).to_contain_text("Routage de la ligne orange")
        expect(orange.locator(".sd-limits")).to_contain_text("/ 5 aujourd’hui")
        routing.locator("summary").click()
        shot(page, "routing-form-390")
        # every page carries the banner for an administrator
        page.goto(page.base + "/sms/sent/")
        expect(page.locator("#line-paused-free")).to_be_visible()
        expect(page.locator("td.sd-line").first).to_be_visible()  # several lines: a column
        page.goto(page.base + "/gateways/")
        free.get_by_role("button", name="Réactiver").click()
        expect(page.locator(".alert-success")).to_contain_text("Ligne free relancée")
        expect(page.locator("#line-paused-free")).to_have_count(0)
        expect(free.locator(".sd-paused")).to_have_count(0)
        assert GatewayState.objects.get(name="free").paused_at is None
    finally:
        worker.stop()
        thread.join(30)
        settings.SMSDESK_GATEWAYS, settings.SMSDESK_WATCH_MIN_MESSAGES = previous
