"""The platform administrator (the provider) in the browser, at 1280 and 390 px: creates an
organisation, gives it a line, creates its administrator; that administrator logs in, sends,
and sees only their own data; the default organisation's user sees none of it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import Organisation, User
from smsdesk.core import tenancy
from smsdesk.messaging.models import Message
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "un mot de passe 42"


def log_in(page, name: str, password: str, lands: str = r"/$") -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(name)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(lands))


def test_the_provider_sets_up_a_customer_who_then_works_alone(page, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["simulator", "martin=simulator"]
    default = tenancy.sole_organisation()
    accounts.create_user(username="provider", password=PASSWORD, platform=True)
    accounts.create_user(username="old", password=PASSWORD, org=default)
    log_in(page, "provider", PASSWORD, r"/platform/$")
    expect(page.get_by_role("heading", name="Organisations")).to_be_visible()
    page.get_by_placeholder("Nom", exact=True).fill("Cabinet Martin")
    page.get_by_role("button", name="Créer", exact=True).click()
    expect(page.get_by_text("Organisation « Cabinet Martin » créée.")).to_be_visible()
    row = page.locator("tr", has_text="cabinet-martin").locator("xpath=following-sibling::tr[1]")
    row.get_by_label("Ligne", exact=True).select_option("martin")
    row.get_by_role("button", name="Attribuer la ligne").click()
    expect(page.get_by_text("La ligne martin appartient à cabinet-martin.")).to_be_visible()
    row = page.locator("tr", has_text="cabinet-martin").locator("xpath=following-sibling::tr[1]")
    row.get_by_placeholder("Nom d’utilisateur").fill("dr-martin")
    row.get_by_role("button", name="Créer son administrateur").click()
    notice = page.get_by_text(re.compile("Administrateur « dr-martin »"))
    expect(notice).to_be_visible()
    password = notice.inner_text().rsplit(": ", 1)[-1].strip()
    shot(page, "platform-desktop")
    page.set_viewport_size({"width": 390, "height": 800})
    expect(page.get_by_role("heading", name="Organisations")).to_be_visible()
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390  # the table scrolls inside its box, not the page
    shot(page, "platform-mobile")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.context.clear_cookies()

    log_in(page, "dr-martin", password)
    page.get_by_role("link", name="Nouveau SMS").click()
    page.get_by_label("Texte du SMS").fill("Votre rendez-vous est confirmé")
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page.get_by_text(re.compile("SMS enregistré pour 1 destinataire"))).to_be_visible()
    martin = Organisation.objects.get(slug="cabinet-martin")
    [sent] = Message.objects.for_org(martin)
    assert sent.gateway_id == "martin"
    expect(page.get_by_text("Votre rendez-vous est confirmé")).to_be_visible()
    page.context.clear_cookies()

    log_in(page, "old", PASSWORD)
    page.goto(page.base + "/sms/sent/")
    expect(page.get_by_text("Votre rendez-vous est confirmé")).to_have_count(0)
    assert User.objects.get(username="dr-martin").organisation == martin


def test_the_provider_shares_one_line_between_two_customers(page, settings) -> None:  # type: ignore[no-untyped-def]
    # Issue 16 in the browser: the platform page's "shared, with its sender" fields, a wrong
    # sender and a sender the other customer has refused beside the field, then each
    # organisation on the line with its own sender, at 1280 and 390 px.
    from smsdesk.accounts.models import LineAssignment
    from smsdesk.messaging import lines

    settings.SMSDESK_GATEWAYS = ["simulator", "partage=simulator"]
    tenancy.sole_organisation()
    cabinet = Organisation.objects.create(name="Cabinet", slug="cabinet")
    garage = Organisation.objects.create(name="Garage", slug="garage")
    accounts.create_user(username="provider", password=PASSWORD, platform=True)
    log_in(page, "provider", PASSWORD, r"/platform/$")

    def share(slug: str, sender: str) -> None:
        row = page.locator("tr", has_text=slug).locator("xpath=following-sibling::tr[1]")
        row.get_by_label("Ligne", exact=True).select_option("partage")
        row.get_by_label("partagée, avec son expéditeur").check()
        row.get_by_label("Son nom ou numéro d’expéditeur sur la ligne partagée").fill(sender)
        row.get_by_role("button", name="Attribuer la ligne").click()

    share("cabinet", "CABINET")
    expect(
        page.get_by_text("La ligne partage est partagée ; cabinet envoie avec CABINET.")
    ).to_be_visible()
    share("garage", "<b>GARAGE</b>")  # hostile: refused, in words, nothing stored
    expect(
        page.get_by_text(re.compile("« <b>GARAGE</b> » n’est pas un expéditeur"))
    ).to_be_visible()
    assert not LineAssignment.objects.filter(organisation=garage).exists()
    share("garage", "cabinet")  # the other customer's sender, whatever its case
    expect(
        page.get_by_text("Un autre espace de la ligne partage a déjà cet expéditeur.")
    ).to_be_visible()
    share("garage", "GARAGE, +33700000002")
    expect(
        page.get_by_text(re.compile("La ligne partage est partagée ; garage envoie avec GARAGE"))
    ).to_be_visible()
    assert dict(
        LineAssignment.objects.filter(line="partage").values_list("organisation__slug", "sender")
    ) == {"cabinet": "CABINET", "garage": "GARAGE,+33700000002"}
    assert lines.lines_of(cabinet) == ["partage"] and lines.lines_of(garage) == ["partage"]
    assert lines.sender_for("partage", garage) == "GARAGE"
    shot(page, "platform-shared-desktop")
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "platform-shared-mobile")
