"""The Répertoire as a user meets it: import a file, check the preview, confirm, find the
contacts, make a group of them, edit it with the tick and "Modifier", send to the group and
to a typed number added with "+", and export the contacts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from smsdesk.directory.models import Contact, Group
from smsdesk.messaging.models import Message
from tests.browser.conftest import shot
from tests.browser.test_send_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Nom;Prénom;Numéro;Ville\r\n"
    "Bérard;Élodie;06 12 34 56 78;Sète\r\n"
    "Dupré;Zoë;+33 6 98 76 54 32;Lyon\r\n"
    "Martin;Claire;06.11.22.33.44;Paris\r\n"
    "Faux;Numéro;06 12;Nulle part\r\n"
).encode("cp1252")


def test_import_group_send_and_export(page, running_worker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.get_by_role("link", name="Contacts").click()
    shot(page, "directory-contacts-empty")
    page.get_by_role("link", name="Importer une liste de contacts").click()
    page.get_by_label("Fichier CSV").set_input_files(
        {"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV}
    )
    page.get_by_role("button", name="Voir l’aperçu").click()

    # the preview: nothing written yet, the bad line named with its number and reason
    expect(page.get_by_role("heading", name="Aperçu de l’import")).to_be_visible()
    expect(page.locator('[data-count="create"]')).to_have_text("3")
    expect(page.locator('[data-count="reject"]')).to_have_text("1")
    expect(page.locator("#rejected")).to_contain_text("« 06 12 » n’est pas un numéro valide")
    expect(page.locator("#rejected tbody tr td").first).to_have_text("5")
    shot(page, "directory-import-preview")
    assert not Contact.objects.exists()
    page.get_by_role("button", name="Confirmer l’import").click()
    expect(page.get_by_text("Import terminé : 3 contacts créés")).to_be_visible()
    # a number was refused: the import lands on the list of refused numbers (issue 20)
    expect(page.locator("tbody")).to_contain_text("06 12")
    page.get_by_role("link", name="Contacts", exact=True).click()

    # find them by a number typed another way
    page.get_by_label("Rechercher").fill("06 98")
    page.get_by_label("Rechercher").press("Enter")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Dupré")
    page.get_by_label("Rechercher").fill("")
    page.get_by_label("Rechercher").press("Enter")
    expect(page.locator("tbody tr")).to_have_count(3)
    shot(page, "directory-contacts")

    # a group from two ticked contacts
    page.get_by_label("Sélectionner Bérard").check()
    page.get_by_label("Sélectionner Dupré").check()
    page.get_by_role("button", name="Nouveau groupe avec les contacts cochés").click()
    page.wait_for_load_state()
    expect(page.locator("[data-chip]")).to_have_count(2)
    page.get_by_label("Nom du groupe").fill("Clients")
    page.get_by_role("button", name="Enregistrer le groupe").click()
    expect(page.get_by_text("Groupe « Clients » enregistré.")).to_be_visible()
    expect(page.locator("tbody tr", has_text="Clients")).to_contain_text("2")

    # the manual: tick the group on the right, then "Modifier"
    page.get_by_label("Sélectionner Clients").check()
    page.get_by_role("button", name="Modifier").click()
    expect(page.get_by_role("heading", name="Modifier le groupe")).to_be_visible()
    page.wait_for_load_state()  # htmx (a deferred script) listens only once the page is loaded
    page.get_by_label("Nom du groupe").fill("Clients fidèles")
    page.get_by_label("Ajouter des contacts").fill("m")
    expect(page.locator("#pick-contacts-list")).to_contain_text("Il faut commencer à saisir le nom")
    page.get_by_label("Ajouter des contacts").fill("mart")
    page.get_by_role("option", name=re.compile("Claire Martin")).click()
    expect(page.locator("[data-chip]")).to_have_count(1)
    page.get_by_label(re.compile("Élodie Bérard")).uncheck()
    shot(page, "directory-group-edit")
    page.get_by_role("button", name="Enregistrer le groupe").click()
    expect(page.get_by_text("Groupe « Clients fidèles » enregistré.")).to_be_visible()
    group = Group.objects.get()
    assert sorted(group.contacts.values_list("name", flat=True)) == ["Dupré", "Martin"]

    # New SMS: the group, one number in the first field, one more with "+" (never confirmed)
    page.get_by_role("link", name="Nouveau SMS").click()
    page.wait_for_load_state()
    page.get_by_label("Texte du SMS").fill("Soldes demain !")
    page.get_by_label("Numéros cibles").fill("06 55 44 33 22")
    page.get_by_role("button", name="Ajouter un champ de numéro").click()
    page.get_by_label("Autre numéro").fill("+33 6 11 22 33 44")  # also in the group: once
    page.get_by_label("Groupes").fill("cli")
    page.get_by_role("option", name=re.compile("Clients fidèles")).click()
    expect(page.locator("#recipients-summary")).to_contain_text("3 destinataires recevront ce SMS")
    expect(page.locator("#recipients-summary")).to_contain_text("1 doublon retiré")
    shot(page, "directory-new-sms")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page.get_by_text("SMS enregistré pour 3 destinataires")).to_be_visible()
    assert sorted(Message.objects.values_list("peer", flat=True)) == [
        "+33611223344",
        "+33655443322",
        "+33698765432",
    ]
    # names in Sent
    expect(page.locator("tbody")).to_contain_text("Zoë Dupré")
    shot(page, "directory-sent-with-names")

    # export JSON and CSV
    page.get_by_role("link", name="Contacts").click()
    page.get_by_role("button", name="Exporter les contacts").click()
    with page.expect_download() as json_download:
        page.get_by_role("link", name="JSON").click()
    items = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert {i["name"] for i in items} == {"Bérard", "Dupré", "Martin"}
    page.get_by_role("button", name="Exporter les contacts").click()
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV").click()
    text = Path(csv_download.value.path()).read_bytes().decode("utf-8-sig")
    assert text.startswith("Nom;Numéro;Prénom;Groupes") and "Élodie" in text


def test_the_directory_pages_on_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.directory import services

    log_in(page)
    group = services.create_group(name="Clients")
    services.create_contact(
        name="Bérard", first_name="Élodie", number="0612345678", groups=[group.id]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    for url, name in [
        ("/directory/contacts/", "phone-contacts"),
        ("/directory/groups/", "phone-groups"),
        ("/directory/contacts/import/", "phone-import"),
        ("/sms/new/", "phone-new-sms"),
    ]:
        page.goto(page.base + url)
        expect(page.locator("h1")).to_be_visible()
        shot(page, name)
