"""A really full disk: smsdesk's data directory on a small tmpfs, filled to the last byte.

What issue 22's audit saw (an HTML 500 for an API send, a 64-line traceback from the command
line, nothing on the home page) replaced by: the API's JSON 503 with Retry-After, the web's
error page, one line and exit 1 from `smsdesk send`, the administrators' banner; and once
space is freed, the same send works. Real processes: `smsdesk serve` (waitress) and the CLI.
Mounting a tmpfs needs root: elsewhere tests/core/test_resource_faults.py makes SQLite answer
the same "database or disk is full" without a mount.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.worker.helpers import ROOT
from tests.worker.test_serve import free_port, wait_for

pytestmark = pytest.mark.slow
NUMBERS = [f"0612{i:06d}" for i in range(300)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (see test_resource_faults.py)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write zeros until the disk says ENOSPC."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as e:
            assert e.errno == 28  # ENOSPC
    return filler


def env_for(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "DJANGO_"))}
    env.update(SMSDESK_DATA_DIR=str(data), SMSDESK_DISK_LOW_MB="4", PYTHONUNBUFFERED="1")
    return env


def smsdesk(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", *args],
        cwd=ROOT,
        env=env_for(data),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def open(self, path: str, data: dict | None = None, *, raw: bytes = b"", headers=None):  # type: ignore[no-untyped-def]
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(  # noqa: S310 (our own http:// server)
            self.base + path, data=raw or body, headers=headers or {}
        )
        if data is not None:
            request.add_header("X-CSRFToken", self.csrf())
            request.add_header("Referer", self.base + path)
        try:
            with self.opener.open(request, timeout=30) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()


def test_a_full_disk_is_said_plainly_everywhere_and_nothing_is_lost(small_disk: Path) -> None:
    assert smsdesk(small_disk, "migrate", "-v0").returncode == 0
    made = smsdesk(
        small_disk, "createuser", "alice", "--admin", "--password-stdin", stdin="correct horse 42\n"
    )
    assert made.returncode == 0, made.stderr
    token = smsdesk(small_disk, "createtoken", "alice").stdout.strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", "serve", "--no-worker", "--port", str(port)],
        cwd=ROOT,
        env=env_for(small_disk),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"{base}/accounts/login/", server)
        web = Browser(base)
        web.open("/accounts/login/")
        status, _h, _b = web.open(
            "/accounts/login/", {"username": "alice", "password": "correct horse 42"}
        )
        assert status == 200  # followed to the home page
        send = json.dumps({"to": NUMBERS, "text": "Bonjour"}).encode()
        api_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def api_send():  # type: ignore[no-untyped-def]
            return Browser(base).open("/api/v1/messages", raw=send, headers=api_headers)

        filler = fill(small_disk)

        status, headers, body = api_send()
        assert status == 503, body[:300]
        assert headers["Retry-After"] == "60" and headers["Content-Type"] == "application/json"
        assert json.loads(body)["code"] == "disk_full"

        status, headers, html = web.open("/sms/new/", {"text": "x", "numbers": "\n".join(NUMBERS)})
        assert status == 503 and headers["Retry-After"] == "60"
        assert "Le serveur ne peut pas enregistrer pour le moment" in html
        assert "Le disque du serveur est plein" in html

        status, _h, home = web.open("/")
        assert status == 200 and 'id="disk-low"' in home  # reading still works, and warns

        late = Browser(base)  # logging in writes a session: it fits in a page, or a plain 503
        late.open("/accounts/login/")
        status, _h, html = late.open(
            "/accounts/login/", {"username": "alice", "password": "correct horse 42"}
        )
        assert status == 200 or (status == 503 and "Le disque du serveur est plein" in html)

        cli = smsdesk(small_disk, "send", "--to", *NUMBERS, "--text", "x")
        assert cli.returncode == 1
        assert len(cli.stderr.strip().splitlines()) == 1, cli.stderr
        assert "database or disk is full" in cli.stderr

        filler.unlink()  # the administrator frees some space
        status, _h, body = api_send()
        assert status == 201, body[:300]
        assert len(json.loads(body)["messages"]) == len(NUMBERS)
        listed = smsdesk(small_disk, "campaigns", "list")
        assert listed.returncode == 0 and len(re.findall(r"^\d+", listed.stdout, re.M)) == 1
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- PostgreSQL on a full disk ----------------------------------------------------------------
# The messages' table is moved to a tablespace on a small tmpfs, which is then filled: the
# next INSERT cannot extend the table's file ("could not extend file": sqlstate 53100).
TABLESPACE = "smsdesk_faults_full_disk"  # cluster-wide: a name no other test database uses


@pytest.fixture
def postgres_full_disk(small_disk_for_postgres: Path) -> Iterator[Path]:
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f"DROP TABLESPACE IF EXISTS {TABLESPACE}")
        admin.execute(f"CREATE TABLESPACE {TABLESPACE} LOCATION '{small_disk_for_postgres}'")
        # The table's file keeps the rows the tests before rolled back until a vacuum: moved
        # as it is, it may not fit the 2 MB disk before this test writes anything.
        admin.execute("VACUUM messaging_message")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE messaging_message SET TABLESPACE {TABLESPACE}")
    try:
        yield small_disk_for_postgres
    finally:
        connection.close()
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute("ALTER TABLE messaging_message SET TABLESPACE pg_default")
            admin.execute(f"DROP TABLESPACE IF EXISTS {TABLESPACE}")


@pytest.fixture
def small_disk_for_postgres() -> Iterator[Path]:
    import pwd
    import shutil
    import tempfile

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's tablespaces")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        server = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no local postgres user: the server is elsewhere")
    mount = Path(tempfile.mkdtemp(prefix="smsdesk-pg-disk-"))  # /tmp: the server can reach it
    options = f"size=2m,mode=0700,uid={server.pw_uid},gid={server.pw_gid}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        shutil.rmtree(mount, ignore_errors=True)
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_postgresql_on_a_full_disk_is_said_plainly(
    postgres_full_disk: Path, admin_user, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from django.db import connections
    from django.test import Client

    from smsdesk.accounts import services as accounts
    from smsdesk.cli import main
    from smsdesk.messaging.models import Campaign

    monkeypatch.setattr(connections, "close_all", lambda: None)
    _token, raw = accounts.create_token(user=admin_user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", raise_request_exception=False)
    web = Client(raise_request_exception=False)
    web.force_login(admin_user)
    filler = fill(postgres_full_disk)

    response = api.post(
        "/api/v1/messages", {"to": NUMBERS, "text": "x"}, content_type="application/json"
    )
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert response.json()["code"] == "disk_full"
    page = web.post("/sms/new/", {"text": "x", "numbers": "\n".join(NUMBERS)})
    assert page.status_code == 503 and "Le disque du serveur est plein" in page.content.decode()
    capsys.readouterr()  # what the requests above logged is not the command's
    with pytest.raises(SystemExit) as exit_:
        main(["send", "--to", *NUMBERS, "--text", "x"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "could not extend file" in err, err
    assert not Campaign.objects.exists()

    filler.unlink()
    response = api.post(
        "/api/v1/messages", {"to": NUMBERS, "text": "x"}, content_type="application/json"
    )
    assert response.status_code == 201
