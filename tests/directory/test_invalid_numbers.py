"""The invalid numbers of a send or an import (issue 20): kept where the send or the import
goes on with the valid lines, listed on a page and in a CSV, and the cleanup of the contacts
that hold them. A send whose typed numbers are not all valid is still refused whole."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import Organisation, User
from smsdesk.core.errors import ServiceError
from smsdesk.directory import imports, invalid
from smsdesk.directory.models import Contact, InvalidNumber, InvalidNumberReport
from smsdesk.messaging import sending
from smsdesk.messaging.models import Campaign
from smsdesk.sms import numbers

FILE = (
    "Numéro;Prénom\n"
    "06 12 34 56 78;Jean\n"
    "06 00 00;Court\n"  # line 3: too short
    '=HYPERLINK("http://x");Formule\n'  # line 4: letters, a formula in a spreadsheet
    "06 98 76 54 32;Zoé\n"
    "+33 6 1\x0734;Bip\n"  # line 6: a control character
    ";Personne\n"  # line 7: no number at all: not an invalid number
)


def _reasons(report: InvalidNumberReport) -> list[tuple[int | None, str, str]]:
    return list(
        InvalidNumber.objects.filter(report=report)
        .order_by("id")
        .values_list("line", "number", "reason")
    )


def _upload(name: str = "clients.csv", text: str = FILE) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), "text/csv")


# --- what is kept -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_send_from_a_file_keeps_its_refused_numbers_with_why(client_bob: Client) -> None:
    response = client_bob.post(
        "/sms/new/", {"text": "Bonjour {prénom}", "recipients_file": _upload()}
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.recipient_count == 2  # the send went on with the valid lines
    report = campaign.invalid_report
    assert report is not None and report.kind == "send" and report.label == "clients.csv"
    assert report.count == 3 and report.created_by is not None
    rows = _reasons(report)
    assert [(line, why) for line, _n, why in rows] == [
        (3, "too short"),
        (4, "contains letters"),
        (6, "not a phone number"),
    ]
    assert rows[2][1] == "+33 6 1\ufffd34"  # the control character is never stored


@pytest.mark.django_db
def test_typed_invalid_numbers_still_refuse_the_send_whole() -> None:
    with pytest.raises(ServiceError):
        sending.create_campaign(author=None, body="x", to=["+33612345678", "06 00"])
    assert not Campaign.objects.exists() and not InvalidNumberReport.objects.exists()


@pytest.mark.django_db
def test_a_file_with_only_valid_numbers_keeps_no_report() -> None:
    recipients = imports.read_recipients(b"Numero\n0612345678\n")
    campaign = sending.create_campaign(author=None, body="x", recipient_file=recipients)
    assert campaign.invalid_report is None and not InvalidNumberReport.objects.exists()


@pytest.mark.django_db
def test_the_api_send_keeps_them_and_lists_them_paged(operator: User) -> None:
    _token, raw = accounts.create_token(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    text = "Numero\n" + "".join(f"06 00 {i:02d}\n" for i in range(7)) + "0612345678\n"
    response = api.post("/api/v1/campaigns", {"text": "x", "file": _upload("a.csv", text)})
    assert response.status_code == 201, response.content
    campaign_id = response.json()["campaign"]["id"]
    first = api.get(f"/api/v1/campaigns/{campaign_id}/invalid?limit=5").json()
    assert first["count"] == 7 and first["count_exact"] is True
    assert [n["line"] for n in first["invalid"]] == [2, 3, 4, 5, 6]
    assert first["invalid"][0]["reason"] == "too short"
    assert first["invalid"][0]["message"] == "trop court"  # the token's language: French
    rest = api.get(
        f"/api/v1/campaigns/{campaign_id}/invalid?limit=5&after={first['next_cursor']}"
    ).json()
    assert [n["line"] for n in rest["invalid"]] == [7, 8] and rest["next_cursor"] is None
    # a campaign without a file: an empty list; hostile parameters: the API's 422
    other = sending.create_campaign(author=operator, body="x", to=["+33612345678"])
    empty = api.get(f"/api/v1/campaigns/{other.id}/invalid").json()
    assert empty == {"count": 0, "count_exact": True, "next_cursor": None, "invalid": []}
    for query in ("limit=0", "limit=501", "after=0", "after=99999999999999999999", "after=x"):
        bad = api.get(f"/api/v1/campaigns/{campaign_id}/invalid?{query}")
        assert bad.status_code == 422, query
    assert api.get("/api/v1/campaigns/987654321/invalid").status_code == 404


@pytest.mark.django_db
def test_send_csv_on_the_command_line_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "liste.csv"
    path.write_text(FILE)
    call_command(
        "send", "--csv", str(path), "--text", "x", stdout=io.StringIO(), stderr=io.StringIO()
    )
    report = Campaign.objects.get().invalid_report
    assert report is not None and report.label == "liste.csv" and report.count == 3


@pytest.mark.django_db
def test_a_contact_import_keeps_them_and_the_page_follows(client_bob: Client) -> None:
    text = FILE.replace("Prénom", "Nom")
    form = client_bob.post("/directory/contacts/import/", {"file": _upload("Contacts.csv", text)})
    assert form.status_code == 302
    done = client_bob.post(form.url, {"group": ""})
    report = InvalidNumberReport.objects.get()
    assert done.status_code == 302 and done.url == f"/directory/contacts/invalid/{report.id}/"
    assert report.kind == "import" and report.count == 3
    assert Contact.objects.count() == 2
    page = client_bob.get(done.url).content.decode()
    assert "Contacts.csv" in page and "trop court" in page and "06 00 00" in page
    assert "contient des lettres" in page


@pytest.mark.django_db
def test_the_json_import_and_the_command_keep_them_too(tmp_path: Path) -> None:
    items = [{"name": "A", "number": "0612345678"}, {"name": "B", "number": "12"}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(items))
    out = io.StringIO()
    call_command("contacts", "import", str(path), stdout=out)
    report = InvalidNumberReport.objects.get()
    assert _reasons(report) == [(2, "12", "too short")]
    assert f"/contacts/invalid/{report.id}/" in out.getvalue()
    call_command("contacts", "import", str(path), "--dry-run", stdout=io.StringIO())
    assert InvalidNumberReport.objects.count() == 1  # a dry run keeps nothing


# --- the page, the CSV, the cleanup -------------------------------------------------------


def _report(by: User | None = None) -> InvalidNumberReport:
    recipients = imports.read_recipients(FILE.encode(), name="f.csv")
    campaign = sending.create_campaign(author=by, body="x", recipient_file=recipients)
    assert campaign.invalid_report is not None
    return campaign.invalid_report


@pytest.mark.django_db
def test_the_campaign_page_links_to_its_invalid_numbers(client_bob: Client, operator: User) -> None:
    report = _report(operator)
    campaign = Campaign.objects.get()
    page = client_bob.get(f"/sms/campaigns/{campaign.id}/").content.decode()
    assert f'href="/directory/contacts/invalid/{report.id}/"' in page
    listing = client_bob.get(f"/directory/contacts/invalid/{report.id}/").content.decode()
    assert f'href="/sms/campaigns/{campaign.id}/"' in listing
    searched = client_bob.get(f"/directory/contacts/invalid/{report.id}/?q=HYPER").content.decode()
    assert "HYPERLINK" in searched and "06 00 00" not in searched
    assert client_bob.get("/directory/contacts/invalid/987654321/").status_code == 404
    assert client_bob.get("/directory/contacts/invalid/99999999999999999999/").status_code == 404


@pytest.mark.django_db
def test_the_csv_opens_as_text_never_as_formulas(client_bob: Client) -> None:
    report = _report()
    response = client_bob.get(f"/directory/contacts/invalid/{report.id}/csv/")
    assert response["Content-Disposition"].startswith('attachment; filename="invalid-numbers-')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows[0] == ["Ligne", "Numéro", "Pourquoi"]
    assert rows[2] == ["4", '\'=HYPERLINK("http://x")', "contient des lettres"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.django_db
def test_cleanup_deletes_the_contacts_holding_them_after_naming_how_many(
    client_bob: Client,
) -> None:
    report = _report()
    # saved by an older version or another tool: numbers smsdesk refuses today
    Contact.objects.create(name="Ancien", number="+3360000")  # "06 00 00" as stored
    Contact.objects.create(name="Gardé", number="+33612345678")
    question = client_bob.get(f"/directory/contacts/invalid/{report.id}/cleanup/")
    assert "1 contact a un de ces numéros invalides" in question.content.decode()
    assert Contact.objects.filter(name="Ancien").exists()  # a GET deletes nothing
    done = client_bob.post(
        f"/directory/contacts/invalid/{report.id}/cleanup/", {"confirmed": "1", "expected": "1"}
    )
    assert done.status_code == 302
    assert list(Contact.objects.values_list("name", flat=True)) == ["Gardé"]


@pytest.mark.django_db
def test_cleanup_refuses_when_the_contacts_changed_since_the_question(
    client_bob: Client,
) -> None:
    report = _report()
    Contact.objects.create(name="Ancien", number="+3360000")
    for expected in ("2", "0", "", "-1", "1" * 30, "1\x00"):
        client_bob.post(
            f"/directory/contacts/invalid/{report.id}/cleanup/",
            {"confirmed": "1", "expected": expected},
        )
        assert Contact.objects.filter(name="Ancien").exists(), expected


@pytest.mark.django_db
def test_a_read_only_account_sees_the_list_but_cannot_clean(db) -> None:  # type: ignore[no-untyped-def]
    report = _report()
    Contact.objects.create(name="Ancien", number="+3360000")
    reader = User.objects.create_user("rita", password="x" * 12, role=User.Role.READ_ONLY)
    client = Client()
    client.force_login(reader)
    page = client.get(f"/directory/contacts/invalid/{report.id}/")
    assert page.status_code == 200 and "invalid-cleanup" not in page.content.decode()
    assert client.get(f"/directory/contacts/invalid/{report.id}/cleanup/").status_code == 403
    client.post(
        f"/directory/contacts/invalid/{report.id}/cleanup/", {"confirmed": "1", "expected": "1"}
    )
    assert Contact.objects.filter(name="Ancien").exists()
    with pytest.raises(ServiceError):
        invalid.remove_contacts(report.id, by=reader, org=report.organisation)


@pytest.mark.django_db
def test_another_organisations_report_is_missing_and_its_contacts_untouched() -> None:
    mine = _report()
    other = Organisation.objects.create(name="Autre", slug="autre")
    Contact.objects.create(name="Leur", number="+3360000", organisation=other)
    with pytest.raises(ServiceError):
        invalid.get_report(mine.id, org=other)
    assert invalid.remove_contacts(mine.id, by=None, org=mine.organisation) == 0
    assert Contact.objects.filter(name="Leur").exists()


# --- hostile and big files ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_big_file_of_bad_numbers_is_kept_whole_and_streamed(client_bob: Client) -> None:
    lines = ["Numero"] + [f"06 00 {i:05d}" for i in range(20_000)] + ["0612345678"]
    recipients = imports.read_recipients("\n".join(lines).encode())
    campaign = sending.create_campaign(author=None, body="x", recipient_file=recipients)
    report = campaign.invalid_report
    assert report is not None and report.count == 20_000
    assert InvalidNumber.objects.filter(report=report).count() == 20_000
    response = client_bob.get(f"/directory/contacts/invalid/{report.id}/csv/")
    assert response.streaming
    assert sum(chunk.count(b"\r\n") for chunk in response.streaming_content) == 20_001


def test_compact_writes_a_refused_number_as_a_stored_one() -> None:
    assert numbers.compact("06 00 00") == "+3360000"
    assert numbers.compact("0044 20 1") == "+44201"
    assert numbers.compact("+33 (6) 1-2") == "+33612"
    assert numbers.compact("x" * 500) == "x" * numbers.MAX_INPUT
    assert numbers.compact("") == ""
