"""Importing a CSV of numbers to the STOP list: the preview (numbers read, already on the
list, each rejected line with why), then the import, source `import`, by an administrator."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from smsdesk.optout import services
from smsdesk.optout.models import OptOut, OptOutEvent

FILE = (
    "Nom;Numéro\n"
    "Durand;06 12 34 56 71\n"
    "Martin;+33 6 12 34 56 72\n"
    "Faux;12\n"
    "Lettres;06 AB CD EF GH\n"
    "Déjà;06 98 76 54 32\n"
    "Double;0612345671\n"
).encode()


@pytest.fixture
def alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def choose(client: Client, data: bytes = FILE, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/stop/import/", {"file": SimpleUploadedFile("stop.csv", data), "reason": "", **extra}
    )


@pytest.mark.django_db
def test_the_preview_shows_counts_and_line_errors_then_the_import_adds(
    alice: Client, admin_user: User
) -> None:
    services.add_number("0698765432", by=admin_user)
    waiting = sending.create_campaign(author=admin_user, body="Promo", to=["0612345672"])
    preview = choose(alice)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert OptOut.objects.count() == 1  # nothing changed yet
    assert "2 numéros seront mis" in page and "1 y est déjà" in page
    assert "ligne 4" in page and "ligne 5" in page  # why each line was skipped
    token = preview.context["token"]
    done = alice.post("/stop/import/", {"token": token, "reason": "liste de l'ancien outil"})
    assert done.status_code == 302
    added = OptOut.objects.filter(source="import")
    assert set(added.values_list("number", flat=True)) == {"+33612345671", "+33612345672"}
    events = OptOutEvent.objects.filter(source="import")
    assert {e.reason for e in events} == {"liste de l'ancien outil"} and events.count() == 2
    assert waiting.messages.get().status == Message.Status.BLOCKED  # blocked at once
    # the file is gone: the same confirmation again changes nothing
    again = alice.post("/stop/import/", {"token": token, "reason": ""})
    assert again.status_code == 400 and OptOut.objects.count() == 3


@pytest.mark.django_db
def test_another_user_cannot_import_a_file_chosen_by_someone_else(
    alice: Client, admin_user: User
) -> None:
    token = choose(alice).context["token"]
    bob = User.objects.create_user("bob", password="x", role=User.Role.ADMIN)
    other = Client()
    other.force_login(bob)
    assert other.post("/stop/import/", {"token": token, "reason": ""}).status_code == 400
    assert not OptOut.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01\x02\xff\xfe" * 100, b"Nom;Prenom\nDurand;Elise\n", "\ufeff".encode() * 3],
)
def test_a_file_with_no_number_is_refused_saying_what_to_fix(alice: Client, data: bytes) -> None:
    response = choose(alice, data)
    assert response.status_code in (200, 400)
    assert b"alert-danger" in response.content or b"disabled" in response.content
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_only_an_administrator_imports(operator: User) -> None:
    client = Client()
    client.force_login(operator)
    assert choose(client).status_code == 403
    assert client.get("/stop/import/").status_code == 403
    with pytest.raises(Exception, match="administrat"):
        services.import_numbers(FILE, by=operator)
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_a_reason_with_a_control_character_is_refused(alice: Client) -> None:
    token = choose(alice).context["token"]
    response = alice.post("/stop/import/", {"token": token, "reason": "a\x1bb"})
    assert response.status_code == 400 and not OptOut.objects.exists()
