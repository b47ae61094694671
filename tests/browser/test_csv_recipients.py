"""New SMS to the numbers of an uploaded CSV file: the preview lists the line refused with
its number and the columns found; a {column} in the text is filled per recipient; the
campaign's page shows the recipients with their own texts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smsdesk.messaging.models import Campaign
from tests.browser.conftest import shot
from tests.browser.test_send_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = (
    "Numéro;Prénom;Ville\n06 12 34 56 78;Léa;Lyon\n06 00;Bad;Nulle part\n06 98 76 54 32;Noé;Paris\n"
)


def test_a_campaign_to_a_csv_file_with_a_column_in_the_text(page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "destinataires.csv"
    path.write_text(FILE, encoding="utf-8")
    log_in(page)
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Bonjour {prénom}, rendez-vous à {ville} !")
    page.get_by_label("Destinataires depuis un fichier CSV").set_input_files(str(path))
    expect(page.locator("#csv-summary")).to_contain_text("2 numéros lus")
    expect(page.locator('#csv-lines [data-line="3"]')).to_contain_text("ligne 3")
    expect(page.locator("#csv-fields")).to_contain_text("{Ville}")
    expect(page.locator("#recipients-summary")).to_contain_text("2 destinataires")
    expect(page.locator("#preview-text")).to_have_text("Bonjour Léa, rendez-vous à Lyon !")
    shot(page, "new-sms-csv")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page.get_by_text("SMS enregistré pour 2 destinataires")).to_be_visible()

    campaign = Campaign.objects.get()
    page.goto(page.base + f"/sms/campaigns/{campaign.id}/")
    table = page.locator("#recipient-table")
    expect(table).to_contain_text("Bonjour Léa, rendez-vous à Lyon !")
    expect(table).to_contain_text("Bonjour Noé, rendez-vous à Paris !")
    expect(table.locator("tr", has_text=re.compile("Nulle part"))).to_have_count(0)
