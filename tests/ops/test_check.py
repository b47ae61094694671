"""`smsdesk check`: one line per finding, exit code 1 on an error."""

from __future__ import annotations

import ipaddress
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone, translation

from tests.ops.processes import environment, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_browser_test_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for the whole run; Django's deploy
    check rightly calls it an error (async.E001), which is not what these tests look at."""
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)


@pytest.fixture(autouse=True)
def private_test_database() -> None:
    """Django's test runner made the test database with the umask's modes; smsdesk makes
    its own 0600 (config.private_sqlite_file), which `check` would otherwise report."""
    if connection.vendor == "sqlite":
        name = connection.settings_dict["NAME"]
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{name}{suffix}").exists():
                Path(f"{name}{suffix}").chmod(0o600)


def check(language: str = "en") -> tuple[bool, list[str]]:
    out = StringIO()
    try:
        with translation.override(language):
            call_command("check", stdout=out)
        passed = True
    except CommandError as e:
        assert "error(s)" in str(e) or "erreur(s)" in str(e)
        passed = False
    return passed, out.getvalue().splitlines()


def line(lines: list[str], topic: str, separator: str = ":") -> str:
    [found] = [ln for ln in lines if ln.split(None, 1)[1].startswith(f"{topic}{separator}")]
    return found


def test_it_speaks_the_administrators_language() -> None:
    passed, lines = check("fr")
    assert passed
    database = line(lines, "base de données", separator=" :")
    assert database.startswith("ok") and ("SQLite" in database or "PostgreSQL" in database)
    assert any(ln.startswith("attention") and "HTTPS : désactivé" in ln for ln in lines)


def test_a_plain_installation_passes_with_its_warnings_said() -> None:
    passed, lines = check()
    assert passed, lines
    assert line(lines, "database").startswith("ok")
    assert line(lines, "migrations").startswith("ok") and "applied" in line(lines, "migrations")
    assert line(lines, "HTTPS").startswith("warning")
    assert line(lines, "worker").startswith("warning")
    assert line(lines, "gateway simulator").startswith("ok")
    assert all(ln.split()[0] in ("ok", "warning") for ln in lines)


@override_settings(
    SESSION_COOKIE_SECURE=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_SSL_REDIRECT=True,
    CSRF_COOKIE_SECURE=True,
)
def test_https_without_allowed_hosts_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMSDESK_ALLOWED_HOSTS", raising=False)
    passed, lines = check()
    assert not passed
    assert line(lines, "allowed hosts").startswith("error")
    assert "SMSDESK_ALLOWED_HOSTS" in line(lines, "allowed hosts")
    assert line(lines, "HTTPS").startswith("ok")
    monkeypatch.setenv("SMSDESK_ALLOWED_HOSTS", "sms.example.org")
    with override_settings(ALLOWED_HOSTS=["sms.example.org"]):
        passed, lines = check()
    assert passed, lines


@override_settings(
    SESSION_COOKIE_SECURE=True, SECURE_HSTS_SECONDS=31536000, SMSDESK_TRUSTED_PROXIES=[]
)
def test_https_with_no_trusted_proxy_is_an_error() -> None:
    passed, lines = check()
    assert not passed and "SMSDESK_TRUSTED_PROXIES" in line(lines, "HTTPS")


@override_settings(
    ALLOWED_HOSTS=["*"],
    SESSION_COOKIE_SECURE=True,
    SECURE_HSTS_SECONDS=1,
    SMSDESK_TRUSTED_PROXIES=[ipaddress.ip_network("::1")],
)
def test_any_host_behind_https_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSDESK_ALLOWED_HOSTS", "*")
    passed, lines = check()
    assert not passed and line(lines, "allowed hosts").startswith("error")


def test_a_missing_and_a_newer_migration_are_errors() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'optout' AND name LIKE '0003%%'")
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('worker', '0099_next', %s)",
            [timezone.now()],
        )
    passed, lines = check()
    assert not passed
    errors = [ln for ln in lines if ln.startswith("error") and "migrations:" in ln]
    assert len(errors) == 2
    assert "optout.0003_keyset_indexes" in errors[0] and "smsdesk migrate" in errors[0]
    assert "worker.0099_next" in errors[1] and "newer" in errors[1]


@pytest.mark.parametrize(
    ("gateways", "said"),
    [
        (["simulator?nonsense=1"], "unknown option(s) nonsense"),
        (["simulator", "m=modem:/dev/smsdesk-no-such-port"], "no such device"),
        (["m=modem:/etc/hostname"], "is not a serial port"),
        (["simulator", "x=carrier-pigeon"], "unknown kind"),
    ],
)
def test_each_gateway_is_read_and_its_device_looked_at(settings, gateways, said) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = gateways
    passed, lines = check()
    assert not passed
    assert any(ln.startswith("error") and said in ln for ln in lines), lines


def test_a_serial_port_this_user_may_open_passes(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["m=modem:/dev/null?pin=1234"]  # a character device
    passed, lines = check()
    assert passed, lines
    assert line(lines, "gateway m") == "ok       gateway m: modem: configuration read, reachable"


def test_loose_file_modes_are_an_error(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "secret_key").write_text("x")
    settings.DATA_DIR = data_dir
    passed, lines = check()
    assert not passed
    found = line(lines, "file modes")
    assert found.startswith("error") and f"{data_dir} (755, 700 at most)" in found
    assert "secret_key (644, 600 at most)" in found


def test_an_unreachable_database_is_one_error_and_the_rest_still_checked(tmp_path: Path) -> None:
    env = environment(tmp_path / "data", url="postgresql://postgres@127.0.0.1:1/nothing")
    done = run("check", env=env, check=False, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()  # in French, the default language
    database = line(lines, "base de données", separator=" :")
    assert database.startswith("erreur") and "injoignable" in database
    assert not [ln for ln in lines if "migrations :" in ln or "worker :" in ln]
    assert line(lines, "fuseau horaire", separator=" :").startswith("ok")
    assert line(lines, "droits des fichiers", separator=" :").startswith("ok")


def test_the_mail_set_up_is_said(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.mail.smtp import SMTPServer

    # the default: a folder, nothing sent
    settings.SMSDESK_EMAIL_URL = f"file://{tmp_path / 'mail'}"
    passed, lines = check()
    assert passed, lines
    assert line(lines, "mail").startswith("ok") and "none is sent" in line(lines, "mail")
    assert line(lines, "mail outbox").startswith("ok")
    # an SMTP server that answers, then one that does not (the password never shown)
    server = SMTPServer()
    server.start()
    try:
        settings.SMSDESK_EMAIL_URL = f"smtp://me:s3cret@127.0.0.1:{server.port}"
        passed, lines = check()
        assert line(lines, "mail").startswith("ok") and "answers" in line(lines, "mail")
    finally:
        server.stop()
    passed, lines = check()
    assert not passed
    assert line(lines, "mail").startswith("error") and "cannot be reached" in line(lines, "mail")
    assert not any("s3cret" in ln for ln in lines)
