"""SMS STOP and Appels as a user sees them: `smsdesk simulate` in its own process, the worker
running, and the pages in Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.calls.models import Call
from smsdesk.optout.models import OptOut
from tests.browser.conftest import shot
from tests.worker.helpers import ROOT, database_url, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NUMBER = "+33698765432"
SHOWN = "06 98 76 54 32"  # how pages show NUMBER (the default region's national format)


def simulate(*args: str) -> None:
    env = dict(
        os.environ,
        SMSDESK_DATABASE_URL=database_url(),
        SMSDESK_GATEWAYS="simulator",
        DJANGO_SETTINGS_MODULE="smsdesk.settings",
    )
    done = subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", "simulate", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def log_in(page) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("claire", password="un mot de passe 42", role=User.Role.ADMIN)
    page.goto(page.base + "/stop/")
    page.get_by_label("Nom d’utilisateur").fill("claire")
    page.get_by_label("Mot de passe").fill("un mot de passe 42")
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/stop/$"))


def test_stop_then_start_by_sms(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    simulate("inbound", "--from", "06 98 76 54 32", "--text", "Stop")
    wait_until(lambda: OptOut.objects.filter(number=NUMBER).exists(), 30, "the STOP recorded")
    page.goto(page.base + "/stop/")
    row = page.locator("tr", has_text=SHOWN)
    expect(row).to_contain_text("SMS")
    expect(row).to_contain_text("Stop")
    shot(page, "stop-list")

    # New SMS says it before saving, and the message is shown blocked after.
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Nos soldes commencent demain")
    page.get_by_label("Numéros cibles").fill("06 98 76 54 32\n06 12 34 56 78")
    expect(page.locator("#stop-count")).to_contain_text("1 de ces numéros est sur la liste STOP")
    shot(page, "new-sms-stop-count")
    # Ticking "commercial" counts the opt-out mention and says when it would go.
    page.get_by_label("Ce SMS est commercial (publicité, promotion)").check()
    expect(page.locator("#sms-counter")).to_contain_text("mention de désinscription comprise")
    expect(page.locator("[data-commercial-when]")).to_contain_text("SMS commercial :")
    shot(page, "new-sms-commercial")
    page.get_by_label("Ce SMS est commercial (publicité, promotion)").uncheck()
    expect(page.locator("[data-commercial-when]")).to_have_count(0)
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page).to_have_url(re.compile(r"/sms/sent/$"))
    blocked = page.locator("tr", has_text=SHOWN).filter(has_text="Nos soldes")
    expect(blocked.locator("[data-status]")).to_have_text("Bloqué (STOP)")
    shot(page, "sent-blocked")

    # The discussion shows the STOP marked, and the confirmation that went out.
    page.goto(page.base + "/sms/conversations/with/?number=%2B33698765432")  # by id after
    expect(page.locator("[data-keyword=stop]")).to_have_text("Désinscription (STOP)")
    expect(page.locator("[data-keyword=notice]")).to_be_visible()

    simulate("inbound", "--from", NUMBER, "--text", "START")
    wait_until(lambda: not OptOut.objects.filter(number=NUMBER).exists(), 30, "START recorded")
    page.goto(page.base + "/stop/")
    expect(page.locator("tr", has_text=SHOWN)).to_have_count(0)
    page.goto(page.base + "/stop/history/")
    expect(page.locator("tr", has_text=SHOWN)).to_have_count(2)
    shot(page, "stop-history")
    # What went out: the confirmation of the STOP, and the SMS to the other number.
    assert sorted(m.to for m in running_worker.handed) == sorted([NUMBER, "+33612345678"])


def test_an_admin_removes_a_number_with_a_reason(page) -> None:  # type: ignore[no-untyped-def]
    OptOut.objects.create(number=NUMBER, source="sms", keyword="STOP")
    log_in(page)
    page.locator("tr", has_text=SHOWN).get_by_role("link", name="Retirer").click()
    expect(page.get_by_text("pourra de nouveau recevoir")).to_be_visible()
    page.get_by_label("Pourquoi retirer ce numéro ?").fill("Demande écrite du client")
    shot(page, "stop-remove")
    page.get_by_role("button", name="Confirmer le retrait").click()
    expect(page.get_by_text("n’est plus sur la liste STOP")).to_be_visible()
    expect(page.locator("tr", has_text=SHOWN)).to_have_count(0)


def test_a_simulated_call_shows_in_calls(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    simulate("call", "--from", "06 98 76 54 32")
    wait_until(lambda: Call.objects.exists(), 30, "the call recorded")
    page.goto(page.base + "/calls/")
    row = page.locator("tr", has_text=SHOWN)
    expect(row).to_contain_text("simulator")
    shot(page, "calls")
