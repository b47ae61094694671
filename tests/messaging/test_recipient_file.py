"""Recipients from an uploaded CSV file: read by the contact import's reader, previewed with
per-line errors on New SMS, sent as one campaign by the web, the API and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.core.errors import ServiceError
from smsdesk.directory import imports
from smsdesk.directory.models import Contact
from smsdesk.messaging import errors, sending
from smsdesk.messaging.models import Campaign, Message
from smsdesk.optout.models import OptOut

FILES = Path(__file__).parents[1] / "directory" / "files"
THREE = (
    "Numéro;Prénom;Ville\n06 12 34 56 78;Jean;Lyon\n06 00 00;Bad;Nowhere\n"
    "06 98 76 54 32;Zoé;Paris\n"
)


def read(name: str) -> imports.RecipientFile:
    return imports.read_recipients((FILES / name).read_bytes())


# --- the reader ---------------------------------------------------------------------------


def test_titled_columns_become_fields_and_bad_lines_are_rejected_with_their_number() -> None:
    result = imports.read_recipients(THREE.encode())
    assert result.numbers == ["+33612345678", "+33698765432"]
    assert result.fields == ["Prénom", "Ville"]
    assert [r.line for r in result.rejected] == [3]
    assert result.recipients[1].values == {"Prénom": "Zoé", "Ville": "Paris"}


def test_the_contact_import_corpus_is_read_line_by_line() -> None:
    result = read("bad-rows.csv")
    assert result.rejected and all(r.line > 1 for r in result.rejected)
    assert read("excel-windows-1252.csv").encoding == "windows-1252"
    assert read("tabs.tsv").delimiter == "\t"
    assert read("utf16-excel-unicode.txt").numbers
    manual = read("manual.csv")  # no title line: only the number, nothing to name a field
    assert manual.numbers and manual.fields == [] and not manual.header


def test_duplicates_are_said_with_the_first_line() -> None:
    result = imports.read_recipients(b"Numero,Nom\n0612345678,A\n+33612345678,B\n")
    assert result.numbers == ["+33612345678"]
    assert [(d.line, d.first_line) for d in result.duplicates] == [(3, 2)]


@pytest.mark.parametrize("name", ["image.png", "workbook.xlsx", "empty.csv", "binary-junk.csv"])
def test_files_that_are_not_csv_are_refused_whole(name: str) -> None:
    with pytest.raises(ServiceError):
        read(name)


def test_a_huge_line_is_rejected_alone() -> None:
    result = read("huge-line.csv")
    assert result.numbers == ["+33612345678", "+33611223344"]
    assert [r.line for r in result.rejected] == [3]
    assert "5015" in result.rejected[0].reason


def test_formulas_are_plain_text_values() -> None:
    result = read("formula.csv")
    assert len(result.numbers) == 2
    values = [r.values["Prénom"] for r in result.recipients]
    assert values[0].startswith("=HYPERLINK") and values[1] == "@SUM(1+1)"


def test_a_title_that_cannot_name_a_field_is_ignored_and_said() -> None:
    result = imports.read_recipients(b"Numero;Montant (EUR);;Code\n0612345678;12;x;A1\n")
    assert result.fields == ["Code"]
    assert result.ignored_columns == ["Montant (EUR)", "3"]


# --- the service --------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_campaign_with_the_columns_rendered_and_stop_numbers_blocked() -> None:
    OptOut.objects.create(number="+33698765432", source="sms")
    campaign = sending.create_campaign(
        author=None,
        body="Bonjour {prénom|vous}, à {ville|bientôt} !",
        recipient_file=imports.read_recipients(THREE.encode()),
        to=["0611111111"],
    )
    got = {m.peer: (m.status, m.body) for m in campaign.messages.all()}
    assert got["+33612345678"] == ("queued", "Bonjour Jean, à Lyon !")
    assert got["+33611111111"] == ("queued", "Bonjour vous, à bientôt !")
    assert got["+33698765432"][0] == "blocked"
    assert campaign.recipient_count == 3 and campaign.targets["file"] == 2


@pytest.mark.django_db
def test_a_column_wins_over_the_contact_field_of_the_same_name() -> None:
    Contact.objects.create(name="Dupont", first_name="Jean-Marc", number="+33612345678")
    campaign = sending.create_campaign(
        author=None,
        body="{prenom} {nom}",
        recipient_file=imports.read_recipients(b"Numero;Prenom\n0612345678;Jeannot\n"),
    )
    assert campaign.messages.get().body == "Jeannot Dupont"


@pytest.mark.django_db
def test_an_empty_cell_without_default_is_a_missing_field() -> None:
    data = b"Numero;Ville\n0612345678;Lyon\n0698765432;\n"
    with pytest.raises(errors.MissingFields) as caught:
        sending.create_campaign(
            author=None, body="À {ville} !", recipient_file=imports.read_recipients(data)
        )
    assert "06 98 76 54 32" in caught.value.message
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_a_file_without_any_valid_number_is_refused() -> None:
    with pytest.raises(errors.NoRecipients):
        sending.create_campaign(
            author=None, body="x", recipient_file=imports.read_recipients(b"Numero\n06 00\n")
        )


# --- the New SMS page ---------------------------------------------------------------------


def upload(client: Client, content: bytes | str, name: str = "r.csv"):  # type: ignore[no-untyped-def]
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        "/sms/new/csv/", {"recipients_file": SimpleUploadedFile(name, data, "text/csv")}
    )


@pytest.mark.django_db
def test_the_page_previews_the_file_with_its_rejected_lines(client_bob: Client) -> None:
    OptOut.objects.create(number="+33698765432", source="sms")
    response = upload(client_bob, THREE)
    page = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger-After-Settle"] == "csv-loaded"
    assert 'data-line="3"' in page and "ligne 3" in page
    assert "{Prénom}" in page and "{Ville}" in page
    assert 'id="csv-blocked"' in page
    assert 'name="csv_token"' in page


@pytest.mark.django_db
def test_the_page_says_why_a_file_is_refused(client_bob: Client) -> None:
    response = upload(client_bob, (FILES / "workbook.xlsx").read_bytes(), "w.xlsx")
    assert response.status_code == 400 and 'id="csv-error"' in response.content.decode()


def _token(client: Client) -> str:
    page = upload(client, THREE).content.decode()
    return page.split('name="csv_token" value="')[1].split('"')[0]


@pytest.mark.django_db
def test_sending_with_the_uploaded_file_makes_one_campaign(client_bob: Client) -> None:
    token = _token(client_bob)
    preview = client_bob.post(
        "/sms/new/preview/", {"text": "Salut {prénom}", "csv_token": token}
    ).content.decode()
    assert "Salut Jean" in preview
    summary = client_bob.post("/sms/new/summary/", {"csv_token": token}).content.decode()
    assert 'data-recipients="2"' in summary
    response = client_bob.post("/sms/new/", {"text": "Salut {prénom}", "csv_token": token})
    assert response.status_code == 302
    assert sorted(Message.objects.values_list("body", flat=True)) == ["Salut Jean", "Salut Zoé"]
    assert Campaign.objects.count() == 1


@pytest.mark.django_db
def test_another_users_file_cannot_be_sent(client_bob: Client, admin_user: User) -> None:
    token = _token(client_bob)
    other = Client()
    other.force_login(admin_user)
    response = other.post("/sms/new/", {"text": "x", "csv_token": token})
    assert response.status_code == 400 and not Message.objects.exists()
    hostile = client_bob.post("/sms/new/", {"text": "x", "csv_token": "../../etc/passwd"})
    assert hostile.status_code == 400 and not Message.objects.exists()


@pytest.mark.django_db
def test_a_form_posted_with_its_file_sends_too(client_bob: Client) -> None:
    file = SimpleUploadedFile("r.csv", THREE.encode(), "text/csv")
    response = client_bob.post("/sms/new/", {"text": "{Ville}", "recipients_file": file})
    assert response.status_code == 302
    assert sorted(Message.objects.values_list("body", flat=True)) == ["Lyon", "Paris"]


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def api(operator: User) -> Client:
    _token, raw = accounts.create_token(user=operator)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_the_api_sends_to_an_uploaded_file_and_reports_its_lines(api: Client) -> None:
    file = SimpleUploadedFile("r.csv", THREE.encode(), "text/csv")
    response = api.post("/api/v1/campaigns", {"text": "{prénom} de {Ville}", "file": file})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["campaign"]["recipients"] == 2 and body["file"]["accepted"] == 2
    assert [r["line"] for r in body["file"]["rejected"]] == [3]
    assert "Jean de Lyon" in Message.objects.values_list("body", flat=True)


@pytest.mark.django_db
def test_the_api_dry_run_sends_nothing(api: Client) -> None:
    file = SimpleUploadedFile("r.csv", THREE.encode(), "text/csv")
    response = api.post("/api/v1/campaigns", {"dry_run": "true", "file": file})
    assert response.status_code == 200 and response.json()["campaign"] is None
    assert response.json()["file"]["fields"] == ["Prénom", "Ville"]
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_binary_file_with_a_json_error(api: Client) -> None:
    file = SimpleUploadedFile("x.csv", (FILES / "image.png").read_bytes(), "text/csv")
    response = api.post("/api/v1/campaigns", {"text": "x", "file": file})
    assert response.status_code == 400 and response.json()["code"] == "import_refused"


# --- the command line ---------------------------------------------------------------------


@pytest.mark.django_db
def test_send_csv_sends_and_lists_rejected_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(THREE)
    out, err = io.StringIO(), io.StringIO()
    call_command("send", "--csv", str(path), "--text", "Hi {prénom}", stdout=out, stderr=err)
    assert len(out.getvalue().strip().splitlines()) == 2
    assert "ligne 3" in err.getvalue()
    with pytest.raises(CommandError):
        call_command("send", "--csv", str(tmp_path / "absent.csv"), "--text", "x")


@pytest.mark.django_db
def test_the_campaigns_command_lists_shows_cancels_and_retries(tmp_path: Path) -> None:
    c = sending.create_campaign(author=None, body="Promo", to=["0612345678"], tag="noël")
    out = io.StringIO()
    call_command("campaigns", "list", stdout=out)
    assert out.getvalue().startswith(f"{c.id}\t") and "noël" in out.getvalue()
    out = io.StringIO()
    call_command("campaigns", "show", str(c.id), stdout=out)
    assert "waiting\t1" in out.getvalue()
    out = io.StringIO()
    call_command("campaigns", "cancel", str(c.id), stdout=out)
    assert Message.objects.get().status == "cancelled" and out.getvalue().startswith("1 ")
    with pytest.raises(CommandError):
        call_command("campaigns", "retry", str(c.id))  # nothing failed
    Message.objects.update(status="failed")
    call_command("campaigns", "retry", str(c.id), stdout=io.StringIO())
    assert Message.objects.get().status == "queued"
    with pytest.raises(CommandError):
        call_command("campaigns", "show", "999999")
