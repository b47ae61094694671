"""Export: CSV that spreadsheets open right and that imports back unchanged; JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest

from smsdesk.directory import exports, imports, services
from smsdesk.directory.models import Contact, ContactField, Group

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory() -> None:
    ContactField.objects.create(key="city", label="Ville")
    clients = services.create_group(name="Clients")
    vip = services.create_group(name="VIP")
    services.create_contact(
        name="Bérard",
        first_name="Élodie",
        number="0612345678",
        fields={"city": "Sète"},
        groups=[clients.id, vip.id],
    )
    services.create_contact(name='=HYPERLINK("http://x")', number="+447911123456")
    services.create_contact(name="-Martin", first_name="@claire", number="0698765432")


def csv_bytes() -> bytes:
    return "".join(exports.csv_chunks(Contact.objects.all())).encode("utf-8")


def snapshot() -> list[tuple]:  # type: ignore[type-arg]
    return sorted(
        (
            c.name,
            c.first_name,
            c.number,
            tuple(sorted(c.fields.items())),
            tuple(sorted(c.groups.values_list("name", flat=True))),
        )
        for c in Contact.objects.all()
    )


def test_csv_is_utf8_with_bom_semicolons_and_crlf(directory) -> None:  # type: ignore[no-untyped-def]
    data = csv_bytes()
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "Nom;Numéro;Prénom;Groupes;Ville"
    assert "\r\n" in text and "Élodie" in text and "Sète" in text
    assert "Bérard;06 12 34 56 78;Élodie;Clients | VIP;Sète" in text


def test_no_cell_starts_like_a_formula(directory) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.reader(io.StringIO(csv_bytes().decode("utf-8-sig")), delimiter=";"))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    cells = {cell for row in rows for cell in row}
    assert '\'=HYPERLINK("http://x")' in cells and "'+44 7911 123456" in cells
    assert "'-Martin" in cells and "'@claire" in cells


def test_export_then_import_changes_nothing(directory) -> None:  # type: ignore[no-untyped-def]
    before = snapshot()
    data = csv_bytes()
    plan = imports.plan(data)
    assert plan.counts() == {"create": 0, "update": 0, "skip": 3, "reject": 0}
    imports.apply(data)
    assert snapshot() == before


def test_export_imports_into_an_empty_directory_identically(directory) -> None:  # type: ignore[no-untyped-def]
    before = snapshot()
    data = csv_bytes()
    Contact.objects.all().delete()
    Group.objects.all().delete()
    imports.apply(data)
    assert snapshot() == before


def test_json_lists_contacts_with_their_groups(directory) -> None:  # type: ignore[no-untyped-def]
    items = json.loads("".join(exports.json_chunks(Contact.objects.all())))
    assert sorted(i["number"] for i in items) == ["+33612345678", "+33698765432", "+447911123456"]
    elodie = next(i for i in items if i["name"] == "Bérard")
    assert elodie["groups"] == ["Clients", "VIP"] and elodie["fields"] == {"city": "Sète"}
    assert elodie["first_name"] == "Élodie"


def test_export_of_a_search_has_only_what_it_found(directory) -> None:  # type: ignore[no-untyped-def]
    items = json.loads("".join(exports.json_chunks(services.contact_list("06 98"))))
    assert [i["name"] for i in items] == ["-Martin"]


def test_an_empty_directory_exports_a_header_and_an_empty_array() -> None:
    assert csv_bytes().decode("utf-8-sig").splitlines() == ["Nom;Numéro;Prénom;Groupes"]
    assert json.loads("".join(exports.json_chunks(Contact.objects.all()))) == []
