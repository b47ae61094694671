"""The Répertoire pages: contacts, import with preview, groups with the tick and "Modifier"."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.directory import services
from smsdesk.directory.models import Contact, ContactField, Group
from smsdesk.messaging.models import Message
from smsdesk.optout import services as optout

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "files"


def upload(client: Client, name: str, data: bytes, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/directory/contacts/import/", {"file": SimpleUploadedFile(name, data), **extra}
    )


def test_add_a_contact_then_see_its_page(client_bob: Client) -> None:
    response = client_bob.post(
        "/directory/contacts/new/",
        {"name": "Dupont", "first_name": "Jean", "number": "06 12 34 56 78"},
    )
    contact = Contact.objects.get()
    assert response.status_code == 302 and response.url == f"/directory/contacts/{contact.id}/"
    html = client_bob.get(response.url).content.decode()
    assert "Jean Dupont" in html and "06 12 34 56 78" in html and "peut recevoir des SMS" in html


def test_the_contact_page_shows_groups_discussion_and_stop(client_bob: Client) -> None:
    contact = services.create_contact(name="Dupont", number="0612345678")
    services.create_group(name="Clients", contacts=[contact.id])
    from smsdesk.messaging import sending

    sending.create_campaign(author=None, body="Votre colis arrive", to=["0612345678"])
    optout.opt_out("+33612345678", source="sms")
    html = client_bob.get(f"/directory/contacts/{contact.id}/").content.decode()
    assert "Clients" in html and "Votre colis arrive" in html and "a envoyé STOP" in html


def test_a_number_that_belongs_to_someone_is_said_clearly(client_bob: Client) -> None:
    services.create_contact(name="Dupont", number="0612345678")
    response = client_bob.post("/directory/contacts/new/", {"name": "X", "number": "+33612345678"})
    assert response.status_code == 400
    assert "appartient déjà au contact « Dupont »" in response.content.decode()


def test_edit_a_contact(client_bob: Client) -> None:
    contact = services.create_contact(name="Dupont", number="0612345678")
    page = client_bob.get(f"/directory/contacts/{contact.id}/edit/").content.decode()
    assert 'value="06 12 34 56 78"' in page
    client_bob.post(
        f"/directory/contacts/{contact.id}/edit/", {"name": "Durand", "number": "0612345678"}
    )
    assert Contact.objects.get().name == "Durand"


def test_bulk_delete_asks_first(client_bob: Client) -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    services.create_contact(name="C", number="0611223344")
    confirm = client_bob.post("/directory/contacts/delete/", {"contact": [a.id, b.id]})
    assert confirm.status_code == 200 and "Supprimer ces 2 contacts" in confirm.content.decode()
    assert Contact.objects.count() == 3
    client_bob.post("/directory/contacts/delete/", {"contact": [a.id, b.id], "confirm": "yes"})
    assert list(Contact.objects.values_list("name", flat=True)) == ["C"]


def test_import_shows_a_preview_then_imports_on_confirmation(client_bob: Client) -> None:
    response = upload(
        client_bob, "contacts.csv", (FILES / "bad-rows.csv").read_bytes(), group="Salon"
    )
    assert response.status_code == 302 and "group=Salon" in response.url
    preview = client_bob.get(response.url).content.decode()
    assert not Contact.objects.exists()
    assert "Aperçu de l’import" in preview and "pas de numéro" in preview
    assert 'data-count="create">1<' in preview and 'data-count="reject">4<' in preview
    done = client_bob.post(response.url.split("?")[0], {"group": "Salon"})
    assert done.status_code == 302
    assert Contact.objects.count() == 1 and Group.objects.get(name="Salon").contacts.count() == 1
    # the file is gone: confirming twice imports nothing more
    again = client_bob.post(response.url.split("?")[0], {"group": "Salon"})
    assert again.url == "/directory/contacts/import/"


def test_the_preview_shows_the_chosen_group_and_the_custom_fields(
    client_bob: Client, admin_user: User
) -> None:
    from smsdesk.directory.models import ContactField

    ContactField.objects.create(key="ville", label="Ville")
    data = "nom;prenom;numero;ville\nDURAND;Hélène;0611111111;Lille\n".encode()
    response = upload(client_bob, "c.csv", data, group="Salon")
    preview = client_bob.get(response.url).content.decode()
    row = preview[preview.index('id="to-create"') :]
    assert "<strong>Salon</strong>" in row and "ville : Lille" in row


def test_a_pending_import_belongs_to_whoever_sent_it(client_bob: Client) -> None:
    response = upload(client_bob, "c.csv", b"Dupont,0612345678\n")
    other = Client()
    other.force_login(User.objects.create_user("eve", password="x"))
    assert other.get(response.url).status_code == 302
    assert other.post(response.url).status_code == 302
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("vide.csv", b"", "Le formulaire"),  # Django refuses an empty upload itself
        ("blanc.csv", b"\n\n", "Le fichier est vide"),
        ("photo.png", (FILES / "image.png").read_bytes(), "pas un fichier CSV texte"),
        ("classeur.xlsx", (FILES / "workbook.xlsx").read_bytes(), "Enregistrer sous"),
    ],
)
def test_unreadable_files_are_refused_on_the_upload_page(
    client_bob: Client, name, data, message
) -> None:  # type: ignore[no-untyped-def]
    response = upload(client_bob, name, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html or "vide" in html


def test_the_size_limit_is_enforced_and_stated(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_IMPORT_MAX_BYTES = 2_000_000
    assert "1,9\xa0Mio au plus" in client_bob.get("/directory/contacts/import/").content.decode()
    response = upload(client_bob, "c.csv", b"Dupont,0612345678\n" * 120_000)
    assert response.status_code == 400 and "trop gros" in response.content.decode()


def test_export_downloads_csv_and_json(client_bob: Client) -> None:
    services.create_contact(name="Bérard", number="0612345678")
    services.create_contact(name="Martin", number="0698765432")
    response = client_bob.get("/directory/contacts/export/", {"format": "csv", "q": "bérard"})
    assert 'filename="contacts-' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Bérard" in body and "Martin" not in body
    response = client_bob.get("/directory/contacts/export/", {"format": "json"})
    assert response["Content-Type"].startswith("application/json")


def test_groups_tick_then_edit(client_bob: Client) -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    group = services.create_group(name="Clients", contacts=[a.id])
    html = client_bob.get("/directory/groups/").content.decode()
    assert "Modifier" in html and "Clients" in html
    picked = client_bob.post("/directory/groups/pick/", {"group": [group.id], "action": "edit"})
    assert picked.url == f"/directory/groups/{group.id}/edit/"
    page = client_bob.get(picked.url).content.decode()
    assert "1 membre" in page
    client_bob.post(
        picked.url,
        {"name": "Clients fidèles", "contacts": [b.id], "shown": [a.id]},  # a unticked
    )
    group.refresh_from_db()
    assert group.name == "Clients fidèles" and list(group.contacts.all()) == [b]


def test_edit_needs_exactly_one_ticked_group(client_bob: Client) -> None:
    one = services.create_group(name="Un")
    two = services.create_group(name="Deux")
    response = client_bob.post("/directory/groups/pick/", {"group": [one.id, two.id]}, follow=True)
    # two ticked: says so, and that only one is edited at a time (issue 21)
    assert "Vous avez coché 2 groupes" in response.content.decode()
    assert "n’en cochez qu’un" in response.content.decode()
    none = client_bob.post("/directory/groups/pick/", {}, follow=True)
    assert "Cochez un groupe" in none.content.decode()


def test_delete_groups_keeps_contacts(client_bob: Client) -> None:
    a = services.create_contact(name="A", number="0612345678")
    group = services.create_group(name="G", contacts=[a.id])
    confirm = client_bob.post("/directory/groups/pick/", {"group": [group.id], "action": "delete"})
    assert "Leurs contacts sont conservés" in confirm.content.decode()
    client_bob.post("/directory/groups/delete/", {"group": [group.id]})
    assert not Group.objects.exists() and Contact.objects.count() == 1


def test_create_a_group_from_ticked_contacts(client_bob: Client) -> None:
    a = services.create_contact(name="Alice", number="0612345678")
    page = client_bob.get("/directory/groups/new/", {"contact": [a.id]}).content.decode()
    assert f'data-chip="{a.id}"' in page
    client_bob.post("/directory/groups/new/", {"name": "G", "contacts": [a.id]})
    assert list(Group.objects.get().contacts.all()) == [a]


def test_the_type_ahead_waits_for_two_letters(client_bob: Client) -> None:
    services.create_contact(name="Dupont", first_name="Jean", number="0612345678")
    services.create_group(name="Clients")
    assert (
        "Il faut commencer à saisir le nom"
        in client_bob.get("/directory/suggest/contacts/", {"q": "d"}).content.decode()
    )
    html = client_bob.get("/directory/suggest/contacts/", {"q": "dup"}).content.decode()
    assert "Jean Dupont" in html and "06 12 34 56 78" in html
    assert "Clients" in client_bob.get("/directory/suggest/groups/", {"q": "cli"}).content.decode()
    assert (
        "Aucun contact"
        in client_bob.get("/directory/suggest/contacts/", {"q": "zz"}).content.decode()
    )


def test_custom_fields_are_for_administrators(client_bob: Client, admin_user: User) -> None:
    assert client_bob.get("/directory/contacts/fields/").status_code == 403
    admin = Client()
    admin.force_login(admin_user)
    admin.post("/directory/contacts/fields/", {"label": "Ville", "key": "city"})
    assert ContactField.objects.get().key == "city"
    form = client_bob.get("/directory/contacts/new/").content.decode()
    assert "Ville" in form
    client_bob.post(
        "/directory/contacts/new/", {"name": "A", "number": "0612345678", "field_city": "Lyon"}
    )
    assert Contact.objects.get().fields == {"city": "Lyon"}


def test_new_sms_sends_to_typed_numbers_contacts_and_groups(client_bob: Client) -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    group = services.create_group(name="G", contacts=[a.id, b.id])
    summary = client_bob.post(
        "/sms/new/summary/", {"numbers": ["06 12 34 56 78", "0611223344"], "groups": [group.id]}
    ).content.decode()
    assert "3 destinataires recevront ce SMS" in summary and "1 doublon retiré" in summary
    response = client_bob.post(
        "/sms/new/",
        {
            "text": "Bonjour",
            "numbers": ["06 12 34 56 78", "0611223344"],
            "contacts": [b.id],
            "groups": [group.id],
        },
    )
    assert response.status_code == 302
    assert sorted(Message.objects.values_list("peer", flat=True)) == [
        "+33611223344",
        "+33612345678",
        "+33698765432",
    ]


def test_new_sms_keeps_what_was_picked_when_it_comes_back_with_an_error(client_bob: Client) -> None:
    a = services.create_contact(name="Alice", number="0612345678")
    group = services.create_group(name="Clients")
    response = client_bob.post(
        "/sms/new/",
        {"text": "", "numbers": ["06 12", "0698765432"], "contacts": [a.id], "groups": [group.id]},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Alice" in html and "Clients" in html and 'value="0698765432"' in html


def test_new_sms_summary_says_what_is_wrong(client_bob: Client) -> None:
    html = client_bob.post("/sms/new/summary/", {"numbers": ["06 12"]}).content.decode()
    assert "« 06 12 »" in html
    html = client_bob.post("/sms/new/summary/", {"numbers": [""]}).content.decode()
    assert "Aucun destinataire" in html


@pytest.mark.django_db
def test_the_import_page_reads_the_json_export(client_bob) -> None:  # type: ignore[no-untyped-def]
    import json

    items = [{"name": "Ana", "number": "+33611111111", "groups": ["Équipe"]}, {"name": "X"}]
    upload = SimpleUploadedFile("contacts.json", json.dumps(items).encode())
    response = client_bob.post("/directory/contacts/import/", {"file": upload})
    assert response.status_code == 302
    preview = client_bob.get(response.url)
    html = preview.content.decode()
    assert preview.status_code == 200 and "JSON" in html
    confirmed = client_bob.post(response.url.split("?")[0], {"group": ""})
    assert confirmed.status_code == 302
    assert list(Contact.objects.values_list("name", flat=True)) == ["Ana"]
