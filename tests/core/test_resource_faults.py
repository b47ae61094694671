"""A full disk, a locked or an unreachable database: answered plainly by every entry point.

The API: 503, `Retry-After`, the JSON error shape. The web: 503, the error page in the
layout and the user's language. The command line: one line, exit 1. Nothing half-saved,
and everything works again once the resource is back. The faults are real: SQLite refusing
to grow its file (`PRAGMA max_page_count` answers exactly what a full disk answers, "database
or disk is full"), a second connection holding the write lock or a table lock, a database
address where nobody listens; tests/core/test_full_disk.py fills a real disk.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.cli import main
from smsdesk.core import faults
from smsdesk.messaging.models import Campaign, Message

SQLITE = connection.vendor == "sqlite"
POSTGRES = connection.vendor == "postgresql"
NUMBERS = [f"0612{i:06d}" for i in range(300)]  # enough rows to need new pages
TEXT = "Le serveur ne peut pas enregistrer pour le moment ; rien n’a été perdu."


@pytest.fixture
def people(db) -> dict:  # type: ignore[no-untyped-def]
    admin = User.objects.create_user("alice", password="correct horse 42", role=User.Role.ADMIN)
    _token, raw = accounts.create_token(user=admin)
    web = Client(raise_request_exception=False)
    web.force_login(admin)
    return {
        "api": Client(HTTP_AUTHORIZATION=f"Bearer {raw}", raise_request_exception=False),
        "web": web,
    }


@pytest.fixture(autouse=True)
def keep_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # `smsdesk COMMAND` closes the connections when it ends: in-process, that would reset the
    # fault set on this test's connection.
    monkeypatch.setattr(connections, "close_all", lambda: None)


def api_send(people: dict):  # type: ignore[no-untyped-def]
    return people["api"].post(
        "/api/v1/messages", {"to": NUMBERS, "text": "x"}, content_type="application/json"
    )


def web_send(people: dict):  # type: ignore[no-untyped-def]
    return people["web"].post("/sms/new/", {"text": "x", "numbers": "\n".join(NUMBERS)})


def assert_json_503(response, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "60"
    assert response["Content-Type"].startswith("application/json")
    error = response.json()
    assert (error["code"], error["field"]) == (code, None)
    assert error["message"] == TEXT + " Réessayez dans une minute."
    assert error["detail"] == [{"reason": faults.reason(faults.Fault(code))}]


def assert_page_503(response, why: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    html = response.content.decode()
    assert '<html lang="fr">' in html and 'id="error-page"' in html  # the layout, in French
    assert TEXT in html and why in html
    assert "Traceback" not in html


def cli_fails_in_one_line(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"smsdesk: {TEXT}"), err
    return err


def nothing_saved() -> None:
    assert not Campaign.objects.exists() and not Message.objects.exists()


def works_again(people: dict) -> None:
    response = api_send(people)
    assert response.status_code == 201
    assert Message.objects.count() == len(NUMBERS)


# --- a full disk ----------------------------------------------------------------------------
FILL = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < %s) "
    "INSERT INTO zz_filler SELECT randomblob(3000) FROM n"
)


@pytest.fixture
def full_disk(people: dict) -> Iterator[None]:
    """SQLite may not grow its file any more, and has no free page left: the next write that
    needs a page fails as on a full disk."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE zz_filler (b BLOB)")
        cursor.execute("PRAGMA page_count")
        cursor.execute(f"PRAGMA max_page_count = {cursor.fetchone()[0]}")
        chunk = 1024
        while chunk:
            try:
                cursor.execute(FILL, [chunk])
            except OperationalError as e:
                assert "database or disk is full" in str(e)
                chunk //= 2
    yield
    connection.close()  # max_page_count lives with the connection
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE zz_filler")


pytestmark_sqlite = pytest.mark.skipif(not SQLITE, reason="SQLite's own limit on its file")


@pytestmark_sqlite
@pytest.mark.django_db(transaction=True)
def test_a_full_disk_gives_the_api_a_json_503(people: dict, full_disk: None) -> None:
    assert_json_503(api_send(people), "disk_full")
    nothing_saved()


@pytestmark_sqlite
@pytest.mark.django_db(transaction=True)
def test_a_full_disk_gives_the_web_the_error_page(people: dict, full_disk: None) -> None:
    assert_page_503(web_send(people), "Le disque du serveur est plein")
    nothing_saved()


@pytestmark_sqlite
@pytest.mark.django_db(transaction=True)
def test_a_full_disk_gives_the_command_line_one_line(
    people: dict, full_disk: None, capsys: pytest.CaptureFixture[str]
) -> None:
    err = cli_fails_in_one_line(capsys, "send", "--to", *NUMBERS, "--text", "x")
    assert "Le disque du serveur est plein" in err and "(database or disk is full)" in err
    nothing_saved()


@pytestmark_sqlite
@pytest.mark.django_db(transaction=True)
def test_once_there_is_room_again_everything_works(people: dict, full_disk: None) -> None:
    assert api_send(people).status_code == 503
    connection.close()  # the administrator freed some space
    works_again(people)


# --- a locked database ----------------------------------------------------------------------
@pytest.fixture
def locked(people: dict) -> Iterator[None]:
    """Another process holds the write lock (SQLite) or a lock on the campaigns' table
    (PostgreSQL), for longer than we wait (1 s here instead of SMSDESK_LOCK_WAIT)."""
    connection.close()
    if SQLITE:
        options = connection.settings_dict["OPTIONS"]
        wait, options["timeout"] = options["timeout"], 1
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
        other.close()
        options["timeout"] = wait
    else:
        import psycopg

        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        params = connection.get_connection_params()
        other = psycopg.connect(**params)
        other.execute("LOCK TABLE messaging_campaign IN ACCESS EXCLUSIVE MODE")
        yield
        other.rollback()
        other.close()
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_gives_the_api_a_json_503(people: dict, locked: None) -> None:
    assert_json_503(api_send(people), "database_busy")


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_gives_the_web_the_error_page(people: dict, locked: None) -> None:
    assert_page_503(web_send(people), "La base de données est occupée par une autre opération")


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_gives_the_command_line_one_line(
    people: dict, locked: None, capsys: pytest.CaptureFixture[str]
) -> None:
    err = cli_fails_in_one_line(capsys, "send", "--to", "0612345678", "--text", "x")
    assert "database is locked" in err or "lock timeout" in err, err


@pytest.mark.django_db(transaction=True)
def test_the_lock_wait_is_the_setting_under_a_proxys_timeout(settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.SMSDESK_LOCK_WAIT == 10 < 60  # nginx's proxy_read_timeout by default
    connection.close()
    with connection.cursor() as cursor:
        if SQLITE:
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == settings.SMSDESK_LOCK_WAIT * 1000
        else:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == f"{settings.SMSDESK_LOCK_WAIT}s"


# --- an unreachable database ----------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once it is closed


@pytest.fixture
def unreachable(people: dict, tmp_path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The database's address leads nowhere: PostgreSQL refuses the connection, SQLite's
    file cannot be opened."""
    connection.close()
    key, value = (
        ("NAME", str(tmp_path / "gone" / "db.sqlite3")) if SQLITE else ("PORT", str(closed_port()))
    )
    kept = connection.settings_dict[key]
    connection.settings_dict[key] = value
    yield
    connection.close()
    connection.settings_dict[key] = kept


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_gives_the_api_a_json_503(people: dict, unreachable: None) -> None:
    assert_json_503(people["api"].get("/api/v1/messages"), "database_unavailable")
    assert_json_503(api_send(people), "database_unavailable")


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_gives_the_web_the_error_page(
    people: dict, unreachable: None
) -> None:
    for url in ("/", "/sms/sent/", "/accounts/login/"):
        assert_page_503(people["web"].get(url), "La base de données est injoignable")
    assert_page_503(
        Client(raise_request_exception=False).post(
            "/accounts/login/", {"username": "alice", "password": "correct horse 42"}
        ),
        "injoignable",
    )


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_gives_the_command_line_one_line(
    people: dict, unreachable: None, capsys: pytest.CaptureFixture[str]
) -> None:
    err = cli_fails_in_one_line(capsys, "campaigns", "list")
    assert "La base de données est injoignable" in err
    assert ("Connection refused" in err) if POSTGRES else ("unable to open" in err)


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's backends")
@pytest.mark.django_db(transaction=True)
def test_a_terminated_backend_gives_the_api_a_json_503(people: dict) -> None:
    # What an administrator's restart (or pg_terminate_backend) does to open connections.
    import psycopg

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert_json_503(api_send(people), "database_unavailable")
    connection.close()
    works_again(people)


# --- what is a fault, what is not -----------------------------------------------------------
def test_a_bug_is_not_a_fault() -> None:
    # "no such table" is a missing migration, not a resource: the usual 500 and traceback.
    error = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        error.execute("SELECT * FROM nothing")
    assert faults.classify(no_table.value) is None
    assert faults.classify(ValueError("database is locked")) is None
    assert faults.classify(OSError(28, "No space left on device")) is faults.Fault.DISK_FULL


@pytest.mark.django_db
def test_an_unexpected_error_under_the_api_is_json_too(people: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.messaging import filters

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(filters, "message_list", broken)
    response = people["api"].get("/api/v1/messages")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"


# --- the administrators' banner -------------------------------------------------------------
@pytest.mark.django_db
def test_administrators_see_a_banner_when_the_disk_runs_low(
    people: dict, operator: User, settings
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    free_mb = shutil.disk_usage(settings.DATA_DIR).free // 2**20
    settings.SMSDESK_DISK_LOW_MB = free_mb + 100  # the real free space is under it
    html = people["web"].get("/").content.decode()
    assert 'id="disk-low"' in html and "SMSDESK_DISK_LOW_MB" in html
    assert str(settings.DATA_DIR) in html
    operator_client = Client()
    operator_client.force_login(operator)
    assert 'id="disk-low"' not in operator_client.get("/").content.decode()
    settings.SMSDESK_DISK_LOW_MB = max(free_mb - 100, 0)  # plenty of room
    assert 'id="disk-low"' not in people["web"].get("/").content.decode()
    settings.SMSDESK_DISK_LOW_MB = 0  # never
    assert 'id="disk-low"' not in people["web"].get("/").content.decode()
