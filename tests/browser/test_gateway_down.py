"""A gateway that cannot be reached, as a user sees it: a banner on every page, the home page."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.messaging.models import GatewayState
from smsdesk.worker.models import WorkerProcess
from tests.browser.conftest import shot


def test_the_banner_names_the_gateway_since_when_and_why(page, settings) -> None:  # type: ignore[no-untyped-def]
    # a configured line (of the only organisation), which a worker drives and cannot use
    settings.SMSDESK_GATEWAYS = ["modem=modem:/dev/ttyUSB0"]
    now = timezone.now()
    WorkerProcess.objects.create(
        id="w", hostname="elsewhere", pid=1, gateways=["modem"], started_at=now, heartbeat_at=now
    )
    GatewayState.objects.create(
        name="modem",
        kind="modem",
        down_since=now - timedelta(minutes=5),
        down_reason="could not open port /dev/ttyUSB0",
    )
    User.objects.create_user("claire", password="un mot de passe 42")
    page.goto(page.base + "/")
    page.get_by_label("Nom d’utilisateur").fill("claire")
    page.get_by_label("Mot de passe").fill("un mot de passe 42")
    page.get_by_role("button", name="Connexion").click()
    banner = page.locator("#gateway-down-modem")
    expect(banner).to_contain_text("La passerelle « modem » est injoignable depuis le")
    expect(banner).to_contain_text("could not open port /dev/ttyUSB0")
    expect(page.get_by_text(re.compile("hors service depuis le"))).to_be_visible()
    shot(page, "gateway-down-home")
    page.goto(page.base + "/sms/sent/")
    expect(page.locator("#gateway-down-modem")).to_be_visible()
