"""The Passerelles page as an administrator sees it: an emulated modem on a pseudo-terminal,
driven by the worker in-process, shown connected with its signal and operator."""

from __future__ import annotations

import re
import threading

import pytest
from django.conf import settings
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.gateways.modem import build_modem
from smsdesk.gateways.registry import parse_spec
from smsdesk.worker.loop import Worker
from tests.browser.conftest import shot
from tests.gateways.modem.emulator import ModemEmulator

pytestmark = pytest.mark.slow


def test_the_page_shows_a_connected_modem_and_its_signal(page, tmp_path, transactional_db) -> None:  # type: ignore[no-untyped-def]
    emulator = ModemEmulator(tmp_path, profile="simcom")
    spec = f"modem:{emulator.path}?health_every=60"
    previous, settings.SMSDESK_GATEWAYS = settings.SMSDESK_GATEWAYS, [spec]
    worker = Worker([build_modem(parse_spec(spec))], idle_sleep=0.2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        User.objects.create_user("alice", password="un mot de passe 42", role=User.Role.ADMIN)
        page.goto(page.base + "/gateways/")
        page.get_by_label("Nom d’utilisateur").fill("alice")
        page.get_by_label("Mot de passe").fill("un mot de passe 42")
        page.get_by_role("button", name="Connexion").click()
        card = page.locator("#gateway-modem")
        # The page refreshes itself every 10 s: the modem's first health report comes in.
        expect(card.locator(".badge")).to_have_text("connectée", timeout=30_000)
        expect(card.locator(".sd-signal")).to_have_text(re.compile(r"^\d+ %$"))
        expect(card).to_contain_text("IMEI")
        shot(page, "gateways-desktop")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(card.locator(".sd-signal")).to_be_visible()
        shot(page, "gateways-390")
    finally:
        worker.stop()
        thread.join(30)
        emulator.close()
        settings.SMSDESK_GATEWAYS = previous
