"""The invalid numbers of a send, as a user reaches them (issue 20): from the campaign page to
the list, its CSV, and the cleanup of the contacts that hold them, with the confirmation
naming how many; in French and English, at 1280 px and 390 px, read by axe-core (no serious
or critical result), never wider than the window."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.directory import imports
from smsdesk.directory.models import Contact
from smsdesk.messaging import sending
from tests.browser.conftest import shot
from tests.browser.test_accessibility import axe_problems
from tests.browser.test_phone import sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un mot de passe 42"
FILE = (
    "Numéro;Prénom\n"
    "06 12 34 56 78;Jean\n"
    "06 00 00;Court\n"
    '=HYPERLINK("http://exemple.fr/" & "' + "x" * 120 + '");Formule\n'
    "06 98 76 54 32;Zoé\n"
)
WORDS = {
    "fr": {
        "link": "Numéros invalides du fichier",
        "title": "Numéros invalides d’un envoi",
        "cleanup": "Retirer ces numéros des contacts",
        "question": "1 contact a un de ces numéros invalides",
        "confirm": "Supprimer 1 contact",
        "done": "1 contact supprimé.",
        "why": "trop court",
    },
    "en": {
        "link": "Invalid numbers of the file",
        "title": "Invalid numbers of a send",
        "cleanup": "Remove these numbers from contacts",
        "question": "1 contact has one of these invalid numbers",
        "confirm": "Delete 1 contact",
        "done": "1 contact deleted.",
        "why": "too short",
    },
}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_invalid_numbers_page_from_the_campaign_to_the_cleanup(
    browser, live_server, language: str, width: int
) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("claire", password=PASSWORD)
    campaign = sending.create_campaign(
        author=None,
        body="Bonjour {prénom}",
        recipient_file=imports.read_recipients(FILE.encode(), name="clients-décembre.csv"),
    )
    Contact.objects.create(name="Ancien numéro", number="+3360000")  # "06 00 00" as stored
    words = WORDS[language]
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="fr-FR")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(live_server.url + "/accounts/login/")
    page.locator("#id_username").fill("claire")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button.w-100[type=submit]").click()
    page.wait_for_url(live_server.url + "/")

    page.goto(f"{live_server.url}/sms/campaigns/{campaign.id}/")
    page.get_by_role("link", name=words["link"]).click()
    expect(page.get_by_role("heading", name=words["title"], level=1)).to_be_visible()
    rows = page.locator("#invalid-numbers tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("06 00 00")
    expect(rows.first).to_contain_text(words["why"])
    expect(page.locator("#invalid-summary")).to_contain_text("clients-décembre.csv")
    assert sideways_overflow(page) == 0
    assert axe_problems(page) == []
    shot(page, f"invalid-numbers-{language}-{width}")

    with page.expect_download() as download:
        page.locator("#invalid-csv").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "06 00 00" in text

    page.get_by_role("link", name=words["cleanup"]).click()
    expect(page.locator("#cleanup-question")).to_contain_text(words["question"])
    assert sideways_overflow(page) == 0
    assert axe_problems(page) == []
    shot(page, f"invalid-numbers-cleanup-{language}-{width}")
    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.get_by_text(words["done"])).to_be_visible()
    assert not Contact.objects.filter(name="Ancien numéro").exists()
    context.close()
