"""smsdesk contacts import|export, and send --contact/--group."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from smsdesk.directory import services
from smsdesk.directory.models import Contact, Group
from smsdesk.messaging.models import Message

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "files"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_dry_run_prints_the_preview_and_saves_nothing() -> None:
    out = run("contacts", "import", str(FILES / "bad-rows.csv"), "--dry-run")
    assert "1 à créer, 0 à mettre à jour, 1 à ignorer" in out and "4 refusées" in out
    assert "ligne 5 : « 06 12 » n’est pas un numéro valide (trop court)." in out
    assert "Essai à blanc" in out
    assert not Contact.objects.exists()


def test_import_into_a_group() -> None:
    out = run("contacts", "import", str(FILES / "manual.csv"), "--group", "Salon")
    assert "Import terminé" in out
    assert Group.objects.get(name="Salon").contacts.count() == 2


@pytest.mark.parametrize(
    "name,message",
    [
        ("image.png", "pas un fichier CSV"),
        ("empty.csv", "vide"),
        ("missing.csv", "Impossible de lire"),
    ],
)
def test_a_file_that_cannot_be_imported_exits_non_zero(name: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("contacts", "import", str(FILES / name))


def test_nothing_importable_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Dupont,06 12\nMartin,\n")
    with pytest.raises(CommandError, match="Rien n’a pu être importé"):
        run("contacts", "import", str(bad))


def test_export_csv_then_import_it_changes_nothing(tmp_path: Path) -> None:
    services.create_contact(name="Bérard", number="0612345678")
    target = tmp_path / "out.csv"
    run("contacts", "export", "--format", "csv", "--output", str(target))
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    out = run("contacts", "import", str(target))
    assert "0 à créer, 0 à mettre à jour, 1 à ignorer" in out and "Rien à changer" in out


def test_export_json_to_the_screen() -> None:
    services.create_contact(name="Bérard", number="0612345678")
    assert json.loads(run("contacts", "export", "--format", "json"))[0]["name"] == "Bérard"


def test_send_to_a_contact_and_a_group() -> None:
    a = services.create_contact(name="Dupont", number="0612345678")
    b = services.create_contact(name="Martin", number="0698765432")
    services.create_group(name="Clients", contacts=[a.id, b.id])
    out = run(
        "send",
        "--text",
        "Bonjour",
        "--contact",
        "Dupont",
        "--group",
        "clients",
        "--to",
        "0611223344",
    )
    assert len(out.strip().splitlines()) == 3
    assert Message.objects.count() == 3


def test_send_to_an_unknown_group_says_so() -> None:
    with pytest.raises(CommandError, match="Aucun groupe nommé « Nope »"):
        run("send", "--text", "x", "--group", "Nope")
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_export_json_then_import_it_into_an_empty_directory(tmp_path: Path) -> None:
    from smsdesk.directory.models import ContactField

    ContactField.objects.create(key="ville", label="Ville")
    ana = services.create_contact(
        name="Ana", first_name="Anaïs", number="0611111111", fields={"ville": "Lyon"}
    )
    group = services.create_group(name="Équipe", contacts=[ana.id])
    services.create_contact(name="=Bob", number="+447911123456")
    path = tmp_path / "contacts.json"
    run("contacts", "export", "--format", "json", "--output", str(path))
    before = sorted(Contact.objects.values_list("name", "first_name", "number", "fields"))
    Contact.objects.all().delete()
    group.delete()
    out = run("contacts", "import", str(path))
    assert "2" in out
    assert sorted(Contact.objects.values_list("name", "first_name", "number", "fields")) == before
    ana_groups = Contact.objects.get(number="+33611111111").groups.values_list("name", flat=True)
    assert list(ana_groups) == ["Équipe"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, says",
    [
        ("[", "JSON"),
        ('{"name": "x"}', "JSON"),
        ("[]", ""),
    ],
)
def test_a_json_file_that_cannot_be_imported(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(CommandError) as e:
        run("contacts", "import", str(path))
    assert says in str(e.value)


@pytest.mark.django_db
def test_bad_json_items_are_rejected_lines_and_the_rest_imported(tmp_path: Path) -> None:
    items = [
        {"name": "Ana", "number": "0611111111"},
        {"name": "Bad", "number": "12"},
        "not a contact",
        {"name": "X", "number": "0622222222", "sql": 1},
        {"name": "Y", "number": 33612},
        {"name": "Z\x00", "number": "0633333333"},
        {"name": "G", "number": "0644444444", "groups": "Équipe"},
    ]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(items))
    out = run("contacts", "import", str(path))
    assert list(Contact.objects.values_list("name", flat=True)) == ["Ana"]
    for line in (2, 3, 4, 5, 6, 7):
        assert f"{line}" in out
