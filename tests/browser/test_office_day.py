"""Issue 21 as a French office user sees it, in Chromium with the real worker on the
simulated network: names found without accents, typographic characters that stay GSM,
a scheduled send edited then sent at its new time, a cancelled campaign put back without
texting again those who had it, the language kept on another browser."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.directory import services as directory
from smsdesk.messaging import lifecycle, sending
from smsdesk.messaging.models import Campaign, Message
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "un mot de passe 42"
S = Message.Status


def log_in(page, name: str = "claire") -> None:  # type: ignore[no-untyped-def]
    if not User.objects.filter(username=name).exists():
        User.objects.create_user(name, password=PASSWORD)
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/$"))


@contextmanager
def worker() -> Iterator[object]:
    """The worker in a thread on the simulated network, started when the test says so."""
    from smsdesk.gateways.simulator import SimulatorGateway
    from smsdesk.worker.gateway_store import DatabaseGatewayStore
    from smsdesk.worker.loop import Worker

    gateway = SimulatorGateway(delivery_delay=0.3, store=DatabaseGatewayStore("simulator"))
    running = Worker([gateway], idle_sleep=0.2)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        running.stop()
        thread.join(30)


def wait_for(condition, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.2)


def test_helene_is_found_in_the_picker_the_contacts_and_the_sent_list(page) -> None:  # type: ignore[no-untyped-def]
    helene = directory.create_contact(name="DURAND", first_name="Hélène", number="0611111111")
    directory.create_contact(name="MICHEL", first_name="Léa", number="0622222222")
    sending.create_campaign(author=None, body="Bonjour", to=["0611111111", "0622222222"])
    log_in(page)
    page.goto(page.base + "/sms/new/")
    picker = page.get_by_label("Contacts")
    picker.fill("helene")
    # the picker's own suggestions (the page's selects, Repeat among them, have options too)
    suggestions = page.get_by_role("listbox", name=re.compile("Suggestions"))
    option = suggestions.get_by_role("option", name=re.compile("Hélène DURAND"))
    expect(option).to_be_visible()
    expect(suggestions.first.get_by_role("option")).to_have_count(1)
    picker.press("ArrowDown")  # the keyboard reaches the suggestion
    expect(option).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f'[data-chip="{helene.id}"]')).to_contain_text("Hélène DURAND")
    shot(page, "picker-helene")
    page.goto(page.base + "/directory/contacts/?q=helene")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Hélène")
    page.goto(page.base + "/sms/sent/")
    page.get_by_label("Rechercher").fill("helene")
    page.get_by_label("Rechercher").press("Enter")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Hélène DURAND")
    shot(page, "sent-helene")


def test_typographic_characters_stay_one_sms_and_go_out_plain(page) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("l’AG aura lieu « demain » – salle 2")
    counter = page.locator("#sms-counter")
    expect(counter).to_contain_text("(GSM7), 1 SMS")
    expect(counter).to_contain_text("Remplacés pour rester en GSM")
    shot(page, "smart-encoding")
    page.locator("#sms-counter label", has_text="Garder l’original").click()  # and back
    expect(counter).to_contain_text("(UCS2), 1 SMS")
    smart = page.get_by_role("checkbox", name=re.compile("Remplacer les caractères"))
    expect(smart).not_to_be_checked()
    smart.check()
    expect(counter).to_contain_text("(GSM7), 1 SMS")
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78")
    with worker() as gateway:
        page.get_by_role("button", name="Enregistrer le SMS").click()
        expect(page).to_have_url(re.compile(r"/sms/sent/$"))
        row = page.locator("tr", has_text="06 12 34 56 78")
        expect(row.locator("[data-status]")).to_have_text("Délivré", timeout=20_000)
        expect(row).to_contain_text('l\'AG aura lieu " demain " - salle 2')
    [handed] = gateway.handed  # type: ignore[attr-defined]
    assert handed.text == 'l\'AG aura lieu " demain " - salle 2'
    message = Message.objects.get()
    assert (message.body, message.encoding, message.segments) == (handed.text, "gsm7", 1)


def test_a_scheduled_send_edited_then_sent_at_its_new_time(page) -> None:  # type: ignore[no-untyped-def]
    author = User.objects.create_user("claire", password=PASSWORD)
    old = sending.create_campaign(
        author=author,
        body="Réunion jeudi",
        to=["0612345601"],
        send_at=timezone.now() + timedelta(days=2),
    )
    log_in(page)
    page.get_by_role("link", name="SMS programmés").click()
    row = page.locator(f'tr[data-campaign-id="{old.id}"]')
    expect(row).to_contain_text("Réunion jeudi")
    expect(row.locator("td").nth(2)).to_have_text("1")
    shot(page, "scheduled-list")
    row.get_by_role("link", name="Modifier").click()
    expect(page.get_by_role("heading", name="Modifier un SMS programmé")).to_be_visible()
    page.get_by_label("Texte du SMS").fill("Réunion avancée à mercredi")
    page.get_by_label("Numéros cibles").fill("06 12 34 56 01\n06 12 34 56 02")
    new_time = timezone.localtime() + timedelta(seconds=75)  # its minute, a minute ahead at most
    page.locator("#id_send_at").fill(new_time.strftime("%Y-%m-%dT%H:%M"))
    shot(page, "scheduled-edit")
    page.get_by_role("button", name="Enregistrer les modifications").click()
    expect(page).to_have_url(re.compile(r"/sms/scheduled/$"))
    expect(page.get_by_text("SMS programmé modifié : 2 destinataires")).to_be_visible()
    new = Campaign.objects.exclude(id=old.id).get()
    due = new.send_at
    assert due.replace(second=0) == new_time.replace(second=0, microsecond=0)
    with worker() as gateway:
        wait_for(
            lambda: (
                set(Message.objects.filter(campaign=new).values_list("status", flat=True))
                == {S.DELIVERED}
            ),
            seconds=150,
        )
    handed = gateway.handed  # type: ignore[attr-defined]
    assert sorted(m.to for m in handed) == ["+33612345601", "+33612345602"]
    assert {m.text for m in handed} == {"Réunion avancée à mercredi"}
    sent_at = Message.objects.filter(campaign=new).values_list("sent_at", flat=True)
    assert all(at >= due for at in sent_at)  # at its new time, not before
    assert set(old.messages.values_list("status", flat=True)) == {S.CANCELLED}


def test_a_cancelled_campaign_put_back_and_delivered_not_twice(page) -> None:  # type: ignore[no-untyped-def]
    author = User.objects.create_user("claire", password=PASSWORD)
    campaign = sending.create_campaign(
        author=author, body="AG lundi", to=["0612345601", "0612345602", "0612345603"]
    )
    first = campaign.messages.get(peer="+33612345601")
    for t in (lifecycle.CLAIM, lifecycle.SEND, lifecycle.DELIVER):  # it went out before
        lifecycle.move(t, ids=[first.id])
    log_in(page)
    page.goto(page.base + f"/sms/campaigns/{campaign.id}/")
    page.get_by_role("link", name="Annuler ce qui n’est pas parti").click()
    page.get_by_role("button", name="Oui, les annuler").click()
    expect(page.locator("#campaign-requeue")).to_be_visible()
    page.locator("#campaign-requeue").click()
    expect(page.locator("#confirm-question")).to_have_text(
        "2 messages annulés de cette campagne seront remis en file d’attente et envoyés."
    )
    expect(page.locator("#confirm-warning")).to_contain_text(
        "1 message de la même campagne est déjà parti (1 délivré)"
    )
    shot(page, "requeue-confirm")
    with worker() as gateway:
        page.get_by_role("button", name="Oui, les remettre").click()
        expect(page.get_by_text("2 messages sont de nouveau en file d’attente.")).to_be_visible()
        wait_for(lambda: set(campaign.messages.values_list("status", flat=True)) == {S.DELIVERED})
    assert sorted(m.to for m in gateway.handed) == ["+33612345602", "+33612345603"]  # type: ignore[attr-defined]
    assert Message.objects.get(id=first.id).status == S.DELIVERED  # untouched


def test_the_language_is_kept_after_logging_in_on_a_fresh_browser(page, browser) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()
    fresh = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    other = fresh.new_page()
    other.base = page.base
    other.goto(other.base + "/accounts/login/")
    expect(other.get_by_role("button", name="Connexion")).to_be_visible()  # nobody known yet
    other.get_by_label("Nom d’utilisateur").fill("claire")
    other.get_by_label("Mot de passe").fill(PASSWORD)
    other.get_by_role("button", name="Connexion").click()
    expect(other.get_by_role("heading", name="Home")).to_be_visible()
    expect(other.locator("html")).to_have_attribute("lang", "en")
    shot(other, "language-kept")
    fresh.close()


def test_select_all_and_two_groups_ticked_for_edit(page) -> None:  # type: ignore[no-untyped-def]
    for name in ("Élèves", "Parents"):
        directory.create_group(name=name)
    log_in(page)
    page.goto(page.base + "/directory/groups/")
    everything = page.get_by_role("checkbox", name="Tout cocher sur cette page")
    everything.focus()
    page.keyboard.press("Space")  # the keyboard ticks it
    for name in ("Élèves", "Parents"):
        expect(page.get_by_role("checkbox", name=f"Sélectionner {name}")).to_be_checked()
    page.get_by_role("checkbox", name="Sélectionner Parents").uncheck()
    assert everything.evaluate("b => b.indeterminate") is True
    page.get_by_role("checkbox", name="Sélectionner Parents").check()
    page.get_by_role("button", name="Modifier").click()
    expect(page.get_by_text("Vous avez coché 2 groupes")).to_be_visible()
    shot(page, "groups-two-ticked")
