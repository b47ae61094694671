"""The STOP list's import by the command line (`smsdesk optout import FILE`) and the API
(`POST /api/v1/optouts/import`), over the page's services (plan_import, import_numbers)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.optout import services
from smsdesk.optout.models import OptOut, OptOutEvent, Source
from tests.optout.test_import import FILE

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("optout", "import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def stop_file(tmp_path: Path) -> Path:
    path = tmp_path / "stop.csv"
    path.write_bytes(FILE)
    return path


# --- the command line ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dry_run_previews_and_changes_nothing(stop_file: Path) -> None:
    services.add_number("+33698765432", by=None, reason="avant")
    out, err = run(str(stop_file), "--dry-run")
    assert "2 numéros seraient mis sur la liste STOP, 1 y sont déjà." in out
    assert "rien n’a été enregistré" in out.lower() or "rien n'a été enregistré" in out.lower()
    assert err.count("\n") == 2 and "ligne 4" in err and "ligne 5" in err
    assert OptOut.objects.count() == 1


@pytest.mark.django_db
def test_the_import_adds_with_the_source_import_and_the_reason(stop_file: Path) -> None:
    out, _err = run(str(stop_file), "--reason", "liste du salon")
    assert "3 numéros mis sur la liste STOP, 0 y étaient déjà." in out
    entries = OptOut.objects.order_by("number")
    assert [(o.number, o.source) for o in entries] == [
        ("+33612345671", Source.IMPORT),
        ("+33612345672", Source.IMPORT),
        ("+33698765432", Source.IMPORT),
    ]
    assert set(OptOutEvent.objects.values_list("reason", flat=True)) == {"liste du salon"}
    again, _err = run(str(stop_file))
    assert "0 numéros mis sur la liste STOP, 3 y étaient déjà." in again


@pytest.mark.django_db
def test_standard_input_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(b"0612345673\n")

    monkeypatch.setattr("sys.stdin", Stdin)
    run("-")
    assert OptOut.objects.filter(number="+33612345673").exists()


@pytest.mark.django_db
def test_hostile_files_and_arguments_are_refused_in_one_line(
    stop_file: Path, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    binary = tmp_path / "image.csv"
    binary.write_bytes(PNG)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"0612345678\n" * 2000)
    settings.SMSDESK_IMPORT_MAX_BYTES = 10_000
    for args in (
        [str(binary)],
        [str(empty)],
        [str(huge)],
        [str(tmp_path / "absent.csv")],
        [str(tmp_path)],  # a directory
        ["bad\x00name.csv"],
        [str(stop_file), "--reason", "bip\x07"],
        [str(stop_file), "--reason", "x" * 256],
        [str(stop_file), "--reason", "bip\x07", "--dry-run"],
    ):
        with pytest.raises(CommandError) as refused:
            run(*args)
        assert "\n" not in str(refused.value), args
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_a_line_with_control_characters_is_rejected_alone(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"06 12 34\x1b[31m 56 78\n0612345674\n")
    _out, err = run(str(path))
    assert "ligne 1" in err and "\x1b" not in err
    assert list(OptOut.objects.values_list("number", flat=True)) == ["+33612345674"]


# --- the API ------------------------------------------------------------------------------


def _api(user: User) -> Client:
    _token, raw = accounts.create_token(user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_the_api_imports_a_text_csv_body_and_answers_the_counts(admin_user: User) -> None:
    services.add_number("+33698765432", by=None, reason="avant")
    api = _api(admin_user)
    dry = api.post("/api/v1/optouts/import?dry_run=true", FILE, content_type="text/csv")
    assert dry.status_code == 200, dry.content
    assert dry.json()["added"] == 2 and dry.json()["dry_run"] is True
    assert OptOut.objects.count() == 1
    done = api.post("/api/v1/optouts/import?reason=salon", FILE, content_type="text/csv")
    body = done.json()
    assert done.status_code == 200
    assert (body["added"], body["already"], body["duplicates"]) == (2, 1, 1)
    assert [r["line"] for r in body["rejected"]] == [4, 5]
    assert "trop court" in body["rejected"][0]["reason"]
    assert OptOut.objects.filter(source=Source.IMPORT).count() == 2


@pytest.mark.django_db
def test_the_api_imports_a_multipart_file(admin_user: User) -> None:
    api = _api(admin_user)
    file = SimpleUploadedFile("stop.csv", FILE, "text/csv")
    response = api.post("/api/v1/optouts/import", {"file": file})
    assert response.status_code == 200 and response.json()["added"] == 3
    missing = api.post("/api/v1/optouts/import", {"other": "x"})
    assert missing.status_code == 400 and missing.json()["code"] == "import_refused"


@pytest.mark.django_db
def test_the_api_refuses_hostile_input(admin_user: User, settings) -> None:  # type: ignore[no-untyped-def]
    api = _api(admin_user)
    url = "/api/v1/optouts/import"
    cases = [
        (api.post(url, PNG, content_type="text/csv"), 400, "import_refused"),
        (api.post(url, b"", content_type="text/csv"), 400, "import_refused"),
        (api.post(url, b"\x00" * 100, content_type="text/csv"), 400, "import_refused"),
        (api.post(url + "?reason=a%07b", FILE, content_type="text/csv"), 400, None),
        (api.post(url + "?reason=" + "x" * 300, FILE, content_type="text/csv"), 422, None),
        (api.post(url + "?dry_run=maybe", FILE, content_type="text/csv"), 422, None),
        (api.post(url + "?other=1", FILE, content_type="text/csv"), 400, "unknown_parameter"),
        (api.post(url, b'{"a": 1}', content_type="application/json"), 415, None),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.content
        if code:
            assert response.json()["code"] == code
    settings.SMSDESK_IMPORT_MAX_BYTES = 1000
    big = api.post(url, b"0612345678\n" * 200, content_type="text/csv")
    assert big.status_code == 400 and big.json()["code"] == "import_refused"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    settings.SMSDESK_IMPORT_MAX_BYTES = 100_000
    bigger = api.post(url, b"0612345678\n" * 200, content_type="text/csv")
    assert bigger.status_code == 413
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_only_an_administrator_imports_by_the_api(operator: User) -> None:
    api = _api(operator)
    for query in ("", "?dry_run=true"):
        response = api.post("/api/v1/optouts/import" + query, FILE, content_type="text/csv")
        assert response.status_code == 403, query
    assert not OptOut.objects.exists()
