"""A user logs in, sends an SMS, and watches it reach `delivered` in Sent."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from tests.browser.conftest import shot
from tests.conftest import in_a_month

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("claire", password="un mot de passe 42")
    page.goto(page.base + "/sms/sent/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    shot(page, "login")
    page.get_by_label("Nom d’utilisateur").fill("claire")
    page.get_by_label("Mot de passe").fill("un mot de passe 42")
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/sms/sent/$"))


def test_send_from_the_browser_and_see_it_delivered(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.get_by_role("link", name="Nouveau SMS").click()
    page.get_by_label("Texte du SMS").fill("Bonjour, votre rendez-vous est confirmé.")
    expect(page.locator("#sms-counter")).to_contain_text("1 SMS")
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78\n+33600000001")
    shot(page, "new-sms")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page).to_have_url(re.compile(r"/sms/sent/$"))
    expect(page.get_by_text("SMS enregistré pour 2 destinataires")).to_be_visible()
    good = page.locator("tr", has_text="06 12 34 56 78")  # shown in national format
    bad = page.locator("tr", has_text="06 00 00 00 01")
    # No reload: the list refreshes itself while the worker sends through the simulator.
    expect(good.locator("[data-status]")).to_have_text("Délivré", timeout=20_000)
    expect(bad.locator("[data-status]")).to_have_text("Échec", timeout=20_000)
    expect(bad).to_contain_text("numéro inconnu du réseau")
    shot(page, "sent")
    assert [m.to for m in running_worker.handed] == ["+33612345678"]


def test_a_bad_number_is_shown_and_nothing_is_sent(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Coucou")
    page.get_by_label("Numéros cibles").fill("06 12")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("« 06 12 »")
    expect(page.get_by_label("Texte du SMS")).to_have_value("Coucou")
    shot(page, "new-sms-error")


def test_an_inbound_sms_appears_unread_and_the_reply_goes_out(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    running_worker.inject_inbound("+33698765432", "Je serai en retard")
    page.goto(page.base + "/sms/unread/")
    expect(page.get_by_text("Je serai en retard")).to_be_visible(timeout=10_000)
    page.get_by_role("link", name="06 98 76 54 32").click()
    page.get_by_placeholder("Écrire une réponse…").fill("Pas de souci")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("[data-status]").last).to_be_visible()
    shot(page, "conversation")
    page.goto(page.base + "/sms/unread/")
    expect(page.get_by_text("Je serai en retard")).to_have_count(0)


def test_a_scheduled_sms_waits_and_can_be_cancelled(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Joyeux Noël !")
    later = in_a_month().replace(hour=9, minute=0)
    page.get_by_label("Date d’envoi du SMS").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    row = page.locator("tr", has_text="06 12 34 56 78")
    expect(row.locator("[data-status]")).to_have_text("Programmé")
    expect(row).to_contain_text(later.strftime("%d/%m/%Y 09:00"))
    page.wait_for_timeout(1500)  # the worker runs meanwhile: it must leave the message alone
    expect(row.locator("[data-status]")).to_have_text("Programmé")
    row.get_by_role("link", name="Annuler").click()  # a confirmation step first
    expect(page.get_by_text("Annuler ce SMS vers 06 12 34 56 78 ?")).to_be_visible()
    shot(page, "cancel-confirm")
    page.get_by_role("button", name="Annuler le SMS").click()
    expect(page).to_have_url(re.compile(r"/sms/sent/$"))
    expect(page.get_by_text("il ne sera pas envoyé")).to_be_visible()
    expect(row.locator("[data-status]")).to_have_text("Annulé")
    shot(page, "scheduled-cancelled")
    assert running_worker.handed == []


def test_the_menu_switches_to_english(page) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("heading", name="Sent SMS")).to_be_visible()
    expect(page.get_by_role("link", name="Unread SMS")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
