"""An administrator adds or removes a number by hand: the page, the command and the API all
go through the same services, and every change is recorded with who and why."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Message
from smsdesk.optout import errors, services
from smsdesk.optout.models import OptOut, OptOutEvent

NUMBER = "+33698765432"


@pytest.fixture
def client_alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


# --- services -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_removing_is_recorded_with_who_and_why_and_the_number_can_be_texted_again(
    admin_user: User,
) -> None:
    services.add_number("06 98 76 54 32", by=admin_user, reason="asked by phone")
    event = services.remove_number(NUMBER, by=admin_user, reason="opted in again on paper")
    assert (event.action, event.source, event.by, event.by_name, event.reason) == (
        "removed",
        "manual",
        admin_user,
        "alice",
        "opted in again on paper",
    )
    assert not services.is_blocked(NUMBER)
    [msg] = sending.create_campaign(author=None, body="x", to=[NUMBER]).created_messages
    assert msg.status == Message.Status.QUEUED
    # Re-adding works, and the history keeps all three changes.
    services.add_number(NUMBER, by=admin_user)
    assert services.is_blocked(NUMBER)
    assert list(OptOutEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "added",
        "removed",
        "added",
    ]


@pytest.mark.django_db
def test_adding_by_hand_blocks_what_was_waiting(admin_user: User) -> None:
    later = timezone.now() + timezone.timedelta(hours=2)
    [msg] = sending.create_campaign(
        author=None, body="x", to=[NUMBER], send_at=later
    ).created_messages
    services.add_number(NUMBER, by=admin_user)
    msg.refresh_from_db()
    assert msg.status == Message.Status.BLOCKED


@pytest.mark.django_db
def test_the_refusals(admin_user: User, operator: User) -> None:
    with pytest.raises(errors.AdminOnly):
        services.add_number(NUMBER, by=operator)
    with pytest.raises(errors.InvalidNumber) as bad:
        services.add_number("06 12", by=admin_user)
    assert "« 06 12 »" in bad.value.message and bad.value.field == "number"
    services.add_number(NUMBER, by=admin_user)
    with pytest.raises(errors.AlreadyOptedOut):
        services.add_number("0698765432", by=admin_user)
    with pytest.raises(errors.ReasonRequired):
        services.remove_number(NUMBER, by=admin_user, reason="   ")
    with pytest.raises(errors.ReasonRequired):
        services.remove_number(NUMBER, by=admin_user, reason="x" * 256)
    with pytest.raises(errors.AdminOnly):
        services.remove_number(NUMBER, by=operator, reason="because")
    with pytest.raises(errors.NotOptedOut):
        services.remove_number("+33611111111", by=admin_user, reason="because")
    # Nothing half-done: still one entry, one event.
    assert OptOut.objects.count() == 1 and OptOutEvent.objects.count() == 1


@pytest.mark.django_db
def test_count_blocked_reads_any_format_and_counts_each_number_once() -> None:
    services.opt_out(NUMBER, source="sms", keyword="STOP")
    assert services.count_blocked(["06 98 76 54 32", "+33698765432", "0612345678", "x"]) == 1


# --- the page -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_how_by_whom_and_the_history(client_alice: Client, admin_user) -> None:  # type: ignore[no-untyped-def]
    receiving.receive_inbound(
        gateway="simulator", sender=NUMBER, text="STOP", received_at=timezone.now()
    )
    services.add_number("+33611111111", by=admin_user, reason="asked at the desk")
    html = client_alice.get("/stop/").content.decode()
    assert NUMBER in html and "+33611111111" in html
    assert "À la main" in html and "alice" in html and "asked at the desk" in html
    assert "Ajouter un numéro" in html and "Retirer" in html
    # A number that came and went and came back shows its changes on its line.
    receiving.receive_inbound(
        gateway="simulator", sender=NUMBER, text="START", received_at=timezone.now()
    )
    receiving.receive_inbound(
        gateway="simulator", sender=NUMBER, text="Stop.", received_at=timezone.now()
    )
    html = client_alice.get("/stop/").content.decode()
    assert "3 changements" in html and "Retiré" in html


@pytest.mark.django_db
def test_an_operator_sees_the_list_but_cannot_change_it(client_bob: Client) -> None:
    services.opt_out(NUMBER, source="sms", keyword="STOP")
    entry = OptOut.objects.get()
    html = client_bob.get("/stop/").content.decode()
    assert NUMBER in html and "Retirer" not in html and "Ajouter un numéro" not in html
    assert client_bob.post("/stop/add/", {"number": "0611111111"}).status_code == 403
    remove = client_bob.post(f"/stop/{entry.id}/remove/", {"reason": "x"})
    assert remove.status_code == 403
    assert OptOut.objects.count() == 1


@pytest.mark.django_db
def test_an_admin_adds_a_number_and_removes_it_after_a_confirmation(client_alice: Client) -> None:
    response = client_alice.post("/stop/add/", {"number": "06 98 76 54 32", "reason": ""})
    assert response.status_code == 302
    entry = OptOut.objects.get(number=NUMBER)
    # The removal asks first, and says what it means...
    page = client_alice.get(f"/stop/{entry.id}/remove/").content.decode()
    assert "pourra de nouveau recevoir" in page and "Confirmer le retrait" in page
    assert OptOut.objects.filter(number=NUMBER).exists()
    # ...and wants a reason.
    refused = client_alice.post(f"/stop/{entry.id}/remove/", {"reason": ""})
    assert refused.status_code == 400 and OptOut.objects.filter(number=NUMBER).exists()
    done = client_alice.post(f"/stop/{entry.id}/remove/", {"reason": "demande écrite"})
    assert done.status_code == 302
    assert not OptOut.objects.filter(number=NUMBER).exists()
    history = client_alice.get("/stop/history/").content.decode()
    assert "demande écrite" in history and "alice" in history


@pytest.mark.django_db
def test_the_add_form_says_what_to_fix(client_alice: Client) -> None:
    response = client_alice.post("/stop/add/", {"number": "06 12"})
    assert response.status_code == 400
    assert "« 06 12 »" in response.content.decode()
    client_alice.post("/stop/add/", {"number": NUMBER})
    again = client_alice.post("/stop/add/", {"number": "0698765432"})
    assert again.status_code == 400 and "déjà" in again.content.decode()


@pytest.mark.django_db
def test_csv_export_neutralises_formulas(client_bob: Client) -> None:
    services.opt_out(NUMBER, source="sms", keyword='=HYPERLINK("http://x")')
    response = client_bob.get("/stop/export.csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["number", "date", "how", "by", "message", "name"]
    assert rows[1][0] == NUMBER and rows[1][2] == "sms"
    assert rows[1][4].startswith("'=")


@pytest.mark.django_db
def test_csv_export_names_the_contact(client_bob: Client) -> None:
    from smsdesk.directory import services as directory

    directory.create_contact(name="DURAND", first_name="Hélène", number=NUMBER)
    services.opt_out(NUMBER, source="sms", keyword="STOP")
    response = client_bob.get("/stop/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][0] == NUMBER and rows[1][5] == "Hélène DURAND"


@pytest.mark.django_db
def test_the_new_sms_page_says_how_many_recipients_are_on_the_list(client_bob: Client) -> None:
    services.opt_out(NUMBER, source="sms", keyword="STOP")
    response = client_bob.post(
        "/stop/check/", {"numbers": "06 98 76 54 32\n0612345678\n+33698765432"}
    )
    assert "1 de ces numéros est sur la liste STOP" in response.content.decode()
    none = client_bob.post("/stop/check/", {"numbers": "0612345678"})
    assert "STOP" not in none.content.decode()
    assert "stop/check/" in client_bob.get("/sms/new/").content.decode()


# --- the command --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_adds_lists_and_removes() -> None:
    out = io.StringIO()
    call_command("optout", "add", "06 98 76 54 32", "--reason", "courrier", stdout=out)
    assert NUMBER in out.getvalue()
    out = io.StringIO()
    call_command("optout", "list", stdout=out)
    assert out.getvalue().startswith(f"{NUMBER}\t") and "\tcli\t" in out.getvalue()
    out = io.StringIO()
    call_command("optout", "list", "--format", "csv", stdout=out)
    assert out.getvalue().splitlines()[0] == "number,date,how,by,message,name"
    with pytest.raises(CommandError, match="déjà"):
        call_command("optout", "add", NUMBER)
    with pytest.raises(CommandError):  # the reason is required
        call_command("optout", "remove", NUMBER)
    call_command("optout", "remove", NUMBER, "--reason", "erreur de saisie", stdout=io.StringIO())
    event = OptOutEvent.objects.get(action="removed")
    assert (event.source, event.by, event.reason) == ("cli", None, "erreur de saisie")
    with pytest.raises(CommandError, match="n’est pas sur la liste STOP"):
        call_command("optout", "remove", NUMBER, "--reason", "x")


# --- the API ------------------------------------------------------------------------------


def api_for(user: User) -> Client:
    _token, raw = accounts.create_token(user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_the_api_adds_lists_and_removes(admin_user: User) -> None:
    api = api_for(admin_user)
    added = api.post(
        "/api/v1/optouts", {"number": "06 98 76 54 32"}, content_type="application/json"
    )
    assert added.status_code == 201 and added.json()["number"] == NUMBER
    assert added.json()["source"] == "api" and added.json()["by"] == "alice"
    again = api.post("/api/v1/optouts", {"number": NUMBER}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_opted_out"
    listed = api.get("/api/v1/optouts").json()
    assert listed["count"] == 1 and listed["optouts"][0]["number"] == NUMBER
    no_reason = api.delete(f"/api/v1/optouts/{NUMBER}")
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    removed = api.delete(f"/api/v1/optouts/{NUMBER}?reason=consent+given")
    assert removed.status_code == 200 and removed.json()["reason"] == "consent given"
    missing = api.delete(f"/api/v1/optouts/{NUMBER}?reason=again")
    assert missing.status_code == 404 and missing.json()["code"] == "not_opted_out"
    bad = api.post("/api/v1/optouts", {"number": "12"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "number"


@pytest.mark.django_db
def test_the_api_searches_numbers_as_the_page_does(admin_user: User) -> None:
    # The STOP page finds "06 98 76 54 32"; the API's `q` must read numbers the same way.
    api = api_for(admin_user)
    api.post("/api/v1/optouts", {"number": NUMBER}, content_type="application/json")
    for q in ("06 98 76 54 32", "0033 6 98 76", "+33 6 98"):
        found = api.get("/api/v1/optouts", {"q": q}).json()
        assert [o["number"] for o in found["optouts"]] == [NUMBER], q
    assert api.get("/api/v1/optouts", {"q": "07 11"}).json()["optouts"] == []


@pytest.mark.django_db
def test_the_api_lets_an_operator_read_but_not_change(operator: User) -> None:
    api = api_for(operator)
    refused = api.post("/api/v1/optouts", {"number": NUMBER}, content_type="application/json")
    assert refused.status_code == 403
    assert set(refused.json()) >= {"code", "field", "message"}
    assert api.get("/api/v1/optouts").status_code == 200
    assert Client().get("/api/v1/optouts").status_code == 401


@pytest.mark.django_db
def test_deleting_an_account_keeps_its_changes_and_its_name(admin_user: User) -> None:
    services.add_number(NUMBER, by=admin_user, reason="asked by phone")
    admin_user.delete()
    event = OptOutEvent.objects.get()
    assert event.by is None and event.by_name == "alice" and event.reason == "asked by phone"
