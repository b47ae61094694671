"""Names found without accents or case (issue 21): "helene" finds Hélène in the contacts, the
groups, the type-ahead, every list showing numbers and the API's `q=`, through the folded
`search_name` columns the model keeps (sms/folding.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.core import tenancy
from smsdesk.directory import imports, services
from smsdesk.directory.models import Contact, Group
from smsdesk.messaging import filters, receiving

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Contact]:
    return {
        "helene": services.create_contact(
            name="DURAND", first_name="Hélène", number="+33611111111"
        ),
        "lea": services.create_contact(name="MICHEL", first_name="Léa", number="+33622222222"),
        "jerome": services.create_contact(name="Jérôme Lefèvre", number="+33633333333"),
        "zoe": services.create_contact(name="Œuvray", first_name="ZOÉ", number="+33644444444"),
    }


def names(search: str) -> set[str]:
    return {c.name for c in services.contact_list(search)}


@pytest.mark.parametrize(
    "search,found",
    [
        ("helene", {"DURAND"}),
        ("HELENE", {"DURAND"}),
        ("hÉl", {"DURAND", "MICHEL"}),  # accents typed are ignored too
        ("hel", {"DURAND", "MICHEL"}),  # Hélène and MICHEL both hold "hel"
        ("jerome", {"Jérôme Lefèvre"}),
        ("lefevre", {"Jérôme Lefèvre"}),
        ("zoe", {"Œuvray"}),
        ("oeuvray", {"Œuvray"}),
        ("helene durand", {"DURAND"}),  # first name then name
        ("durand  helene", {"DURAND"}),  # name then first name, spaces typed twice
        ("lea michel", {"MICHEL"}),
        ("helene michel", set()),
        ("%", set()),  # LIKE's characters are plain text
        ("_", set()),
        ("06 11", {"DURAND"}),  # numbers still found by their start
    ],
)
def test_a_contact_is_found_whatever_the_accents(people, search: str, found: set[str]) -> None:  # type: ignore[no-untyped-def]
    assert names(search) == found


def test_the_folded_name_follows_every_change(people) -> None:  # type: ignore[no-untyped-def]
    services.update_contact(people["lea"].id, first_name="Maëlle")
    assert names("maelle") == {"MICHEL"} and names("lea") == set()
    contact = Contact.objects.get(id=people["zoe"].id)
    contact.name = "Émond"
    contact.save(update_fields=["name"])
    assert names("emond") == {"Émond"}


def test_imported_contacts_are_found_without_accents(people) -> None:  # type: ignore[no-untyped-def]
    csv = "nom;prenom;numero\nBÉRANGER;Chloé;0655555555\nMICHEL;Léonie;0622222222\n"
    imports.apply(csv.encode())
    assert names("chloe") == {"BÉRANGER"}
    assert names("leonie") == {"MICHEL"}  # an update of a known number keeps its name searchable


def test_groups_are_found_without_accents(people) -> None:  # type: ignore[no-untyped-def]
    group = services.create_group(name="Élèves de 3ème")
    assert [g.id for g in services.group_list("eleves")] == [group.id]
    assert [g.id for g in services.suggest_groups("ELEV")] == [group.id]
    services.update_group(group.id, name="Parents d'élèves")
    assert [g.name for g in services.group_list("parents d'eleves")] == ["Parents d'élèves"]
    assert Group.objects.get(id=group.id).search_name == "parents d'eleves"


def test_the_type_ahead_finds_helene(people) -> None:  # type: ignore[no-untyped-def]
    assert [c.first_name for c in services.suggest_contacts("helene")] == ["Hélène"]


def test_the_message_lists_find_a_contact_without_accents(people) -> None:  # type: ignore[no-untyped-def]
    for number in ("+33611111111", "+33633333333", "+33699999999"):
        receiving.receive_inbound(
            gateway="sim", sender=number, text="Bonjour", received_at=timezone.now()
        )
    peers = set(filters.message_list(search="helene").values_list("peer", flat=True))
    assert peers == {"+33611111111"}
    peers = set(filters.message_list(search="JEROME").values_list("peer", flat=True))
    assert peers == {"+33633333333"}


def test_the_api_q_finds_helene(people, operator: User) -> None:  # type: ignore[no-untyped-def]
    _token, raw = accounts.create_token(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    listed = api.get("/api/v1/contacts", {"q": "helene"}).json()
    assert [c["first_name"] for c in listed["contacts"]] == ["Hélène"]
    services.create_group(name="Équipe")
    assert [g["name"] for g in api.get("/api/v1/groups", {"q": "equipe"}).json()["groups"]] == [
        "Équipe"
    ]


def test_the_contacts_page_finds_helene(people, client_bob: Client) -> None:  # type: ignore[no-untyped-def]
    page = client_bob.get("/directory/contacts/", {"q": "helene"}).content.decode()
    assert "Hélène" in page and "MICHEL" not in page


def test_a_name_search_is_one_condition_on_the_folded_column(people) -> None:  # type: ignore[no-untyped-def]
    org = tenancy.sole_organisation()
    with CaptureQueriesContext(connection) as queries:
        list(services.contact_list("helene", org=org))
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "search_name" in sql and "UPPER" not in sql
