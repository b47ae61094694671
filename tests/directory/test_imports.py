"""CSV import against a corpus of awkward files (tests/directory/files/): each quirk people's
files really have, and the message a user gets for each refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsdesk.directory import imports, services
from smsdesk.directory.errors import ImportRefused
from smsdesk.directory.models import Contact, ContactField, Group

FILES = Path(__file__).parent / "files"
pytestmark = pytest.mark.django_db


def read(name: str) -> bytes:
    return (FILES / name).read_bytes()


def names_and_numbers() -> list[tuple[str, str]]:
    return sorted(Contact.objects.values_list("name", "number"))


@pytest.mark.parametrize(
    "name,expected",
    [
        ("manual.csv", [("DUPONT Jean", "+33612345678"), ("MARTIN Claire", "+33698765432")]),
        ("header-semicolon.csv", [("Dupont", "+33612345678"), ("Martin", "+33698765432")]),
        ("tabs.tsv", [("Dupont", "+33612345678"), ("Martin", "+33698765432")]),
        ("quoted.csv", [("Dupont, Jean", "+33612345678"), ('Martin "Clo" Claire', "+33698765432")]),
        ("utf8-bom.csv", [("Zoë Dupré", "+33698765432"), ("Élodie Bérard", "+33612345678")]),
        ("excel-windows-1252.csv", [("Bérard", "+33612345678"), ("Dupré", "+33698765432")]),
        ("crlf.csv", [("DUPONT", "+33612345678"), ("MARTIN", "+33698765432")]),
        ("utf16-excel-unicode.txt", [("Élodie", "+33612345678")]),
    ],
)
def test_each_quirk_imports_the_same_contacts(name: str, expected: list) -> None:  # type: ignore[type-arg]
    result = imports.apply(read(name))
    assert result.rejected == []
    assert names_and_numbers() == expected


def test_the_preview_writes_nothing_and_says_how_it_read_the_file() -> None:
    plan = imports.plan(read("excel-windows-1252.csv"))
    assert not Contact.objects.exists()
    assert (plan.encoding, plan.delimiter, plan.header) == ("windows-1252", ";", True)
    assert [r.first_name for r in plan.create] == ["Élodie", "Zoë"]
    assert plan.counts() == {"create": 2, "update": 0, "skip": 0, "reject": 0}


def test_every_common_way_of_writing_a_number() -> None:
    imports.apply(read("number-formats.csv"))
    assert [n for _name, n in names_and_numbers()] == [
        "+33612345678",
        "+33612345679",
        "+33612345680",
        "+33612345681",
        "+33612345682",
        "+447911123456",
    ]


def test_extra_columns_fill_first_name_groups_and_custom_fields() -> None:
    ContactField.objects.create(key="city", label="Ville")
    ContactField.objects.create(key="customer", label="Numéro client")
    plan = imports.plan(read("extra-columns.csv"))
    assert plan.ignored_columns == ["Remarque"]
    assert "Remarque" in imports.ignored_note(plan)
    imports.apply(read("extra-columns.csv"))
    dupont = Contact.objects.get(name="Dupont")
    assert dupont.first_name == "Jean"
    assert dupont.fields == {"city": "Lyon", "customer": "C-001"}
    assert sorted(dupont.groups.values_list("name", flat=True)) == ["Clients", "VIP"]
    assert Group.objects.get(name="Clients").contacts.count() == 2


def test_each_rejected_line_says_its_number_and_why() -> None:
    plan = imports.plan(read("bad-rows.csv"))
    lines = [imports.rejected_line(r) for r in plan.rejected]
    assert lines == [
        "ligne 3 : pas de numéro — Sans numéro,",
        "ligne 4 : Le nom du contact est vide. — ,06 98 76 54 32",
        "ligne 5 : « 06 12 » n’est pas un numéro valide (trop court). — Mauvais,06 12",
        "ligne 6 : « 06 AB CD EF GH » n’est pas un numéro valide "
        "(contient des lettres). — Lettres,06 AB CD EF GH",
    ]
    assert [(d.line, d.first_line) for d in plan.duplicates] == [(7, 2)]
    assert imports.duplicate_reason(plan.duplicates[0]) == "même numéro qu’à la ligne 2"
    assert plan.counts() == {"create": 1, "update": 0, "skip": 1, "reject": 4}


@pytest.mark.parametrize(
    "name,message",
    [
        ("empty.csv", "Le fichier est vide"),
        ("blank-lines.csv", "Le fichier est vide"),
        ("image.png", "pas un fichier CSV texte"),
        ("workbook.xlsx", "classeur"),
        ("header-without-number.csv", "aucune de ses colonnes n’est le numéro"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_in_plain_words(name: str, message: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        imports.plan(read(name))
    assert message in refused.value.message
    assert refused.value.field == "file"


def test_a_file_over_the_limit_is_refused_before_reading(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_IMPORT_MAX_BYTES = 1000
    with pytest.raises(ImportRefused, match="trop gros"):
        imports.plan(b"Dupont,0612345678\n" * 100)


def test_a_huge_line_is_rejected_and_the_others_imported() -> None:
    data = (
        "Dupont,06 12 34 56 78\n" + "X" * 200_000 + ",06 98 76 54 32\nMartin,0611223344\n"
    ).encode()
    result = imports.apply(data)
    assert [(r.line, r.reason[:20]) for r in result.rejected] == [(2, "la ligne est trop lo")]
    assert Contact.objects.count() == 2


def test_an_unclosed_quote_rejects_the_rest_with_its_line() -> None:
    plan = imports.plan(read("unclosed-quote.csv"))
    assert len(plan.create) == 1
    assert [r.line for r in plan.rejected] == [2]
    assert "guillemet" in plan.rejected[0].reason


def test_ten_thousand_lines_with_three_bad_ones() -> None:
    lines = [
        f"Contact {i},06 {i // 10000 + 10:02d} {i // 100 % 100:02d} {i % 100:02d} 00"
        for i in range(10_000)
    ]
    lines[10] = "Mauvais,06 12"
    lines[5000] = "Sans numéro,"
    lines[9999] = ",06 99 99 99 99"
    result = imports.apply("\n".join(lines).encode())
    assert [r.line for r in result.rejected] == [11, 5001, 10000]
    assert Contact.objects.count() == 9_997


def test_a_second_import_updates_changed_rows_and_skips_the_others() -> None:
    imports.apply(b"Dupont,0612345678\nMartin,0698765432\n")
    plan = imports.plan(b"Dupont,06 12 34 56 78\nMartin-Durand,+33698765432\nNouveau,0611223344\n")
    assert plan.counts() == {"create": 1, "update": 1, "skip": 1, "reject": 0}
    imports.apply(b"Dupont,06 12 34 56 78\nMartin-Durand,+33698765432\nNouveau,0611223344\n")
    assert Contact.objects.get(number="+33698765432").name == "Martin-Durand"


def test_import_into_a_group_creates_it_and_adds_even_unchanged_contacts() -> None:
    imports.apply(b"Dupont,0612345678\n")
    plan = imports.plan(b"Dupont,0612345678\nMartin,0698765432\n", group="Salon 2026")
    assert plan.counts() == {"create": 1, "update": 1, "skip": 0, "reject": 0}
    imports.apply(b"Dupont,0612345678\nMartin,0698765432\n", group="Salon 2026")
    assert Group.objects.get(name="Salon 2026").contacts.count() == 2


def test_nothing_is_written_when_the_import_fails_half_way(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(Group.contacts.through.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        imports.apply(b"Dupont,0612345678\nMartin,0698765432\n", group="G")
    assert not Contact.objects.exists() and not Group.objects.exists()


def test_a_number_stored_meanwhile_is_updated_not_duplicated() -> None:
    plan = imports.plan(b"Dupont,0612345678\n")
    assert len(plan.create) == 1
    services.create_contact(name="Quelqu'un", number="+33612345678")
    result = imports.apply(b"Dupont,0612345678\n")  # planned again inside the transaction
    assert len(result.update) == 1 and Contact.objects.get().name == "Dupont"


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_the_separator_is_found_even_with_the_other_ones_inside_names(delimiter: str) -> None:
    other = "," if delimiter != "," else ";"
    data = f'Nom{delimiter}Numéro\n"Dupont{other} Jean"{delimiter}0612345678\n'.encode()
    assert imports.plan(data).delimiter == delimiter


def test_a_formula_escaped_by_the_export_reads_back_as_typed() -> None:
    imports.apply("Nom;Numéro\n'=HYPERLINK(\"x\");'+44 7911 123456\n".encode())
    contact = Contact.objects.get()
    assert (contact.name, contact.number) == ('=HYPERLINK("x")', "+447911123456")
