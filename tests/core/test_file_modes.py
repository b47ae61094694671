"""The data directory is 0700, the database (with its -wal and -shm) and the secret key 0600:
on creation, and tightened again at each start if someone loosened them. Every other file
smsdesk writes that holds numbers or texts is 0600 too (config.private_file)."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.management import call_command

from smsdesk import config
from smsdesk.directory import uploads
from smsdesk.directory.models import Contact
from smsdesk.gateways.base import OutboundSMS
from smsdesk.gateways.registry import build, parse_spec


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def smsdesk(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSDESK_")}
    env |= {"SMSDESK_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "smsdesk.settings"}
    return subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        umask=0o022,  # a usual umask: without care, new files would be 0644
    )


def test_helpers_create_private_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SMSDESK_SECRET_KEY", raising=False)
    directory = config.data_dir()
    assert mode(directory) == 0o700
    config.secret_key(directory)
    assert mode(directory / "secret_key") == 0o600
    config.private_sqlite_file(directory / "db.sqlite3")
    assert mode(directory / "db.sqlite3") == 0o600


def test_a_fresh_start_makes_everything_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    done = smsdesk(data, "migrate", "-v", "0")
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    assert mode(data / "smsdesk.sqlite3") == 0o600
    assert mode(data / "secret_key") == 0o600


def test_a_start_tightens_loose_modes(tmp_path: Path) -> None:
    data = tmp_path / "loose"
    assert smsdesk(data, "migrate", "-v", "0").returncode == 0
    files = [data / n for n in ("smsdesk.sqlite3", "smsdesk.sqlite3-wal", "smsdesk.sqlite3-shm")]
    for f in files:
        f.touch()
        f.chmod(0o644)
    (data / "secret_key").chmod(0o644)
    data.chmod(0o755)
    # any command starts smsdesk; this one opens no database (which would remove the -wal)
    done = smsdesk(data, "pdu", "encode", "--to", "+33612345678", "--text", "x")
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    assert [mode(f) for f in [*files, data / "secret_key"]] == [0o600] * 4


# --- every file smsdesk writes with numbers or texts in it is 0600, whatever the umask -------
@pytest.fixture
def usual_umask() -> Iterator[None]:
    """A usual umask: without care, new files would be 0644 and folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def simulator_log(folder: Path) -> list[Path]:
    log = folder / "handed.jsonl"
    gateway = build(parse_spec(f"simulator?log={log}"))
    gateway.send_many([OutboundSMS(1, "+33612345678", "Votre code : 4821")])
    return [log]


def contacts_export(folder: Path) -> list[Path]:
    Contact.objects.get_or_create(name="Dupont", number="+33612345678")
    out = folder / "contacts.csv"
    call_command("contacts", "export", "--output", str(out), stderr=io.StringIO())
    return [out]


def pending_import(folder: Path) -> list[Path]:
    uploads.save(b"Dupont,0612345678\n", user_id=1, filename="contacts.csv")
    pending = Path(settings.DATA_DIR) / "imports"
    return [pending, *pending.iterdir()]


OPEN_UPLOADS: list[TemporaryUploadedFile] = []  # deleted when closed: kept open to be looked at


def uploaded_file(folder: Path) -> list[Path]:
    """Django keeps an upload over FILE_UPLOAD_MAX_MEMORY_SIZE in a temporary file."""
    upload = TemporaryUploadedFile("contacts.csv", "text/csv", 0, "utf-8")
    upload.write(b"Dupont,0612345678\n")
    upload.flush()
    OPEN_UPLOADS.append(upload)
    return [Path(upload.temporary_file_path())]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "written",
    [simulator_log, contacts_export, pending_import, uploaded_file],
    ids=lambda f: f.__name__,
)
def test_every_file_with_numbers_or_texts_is_private(
    written: Callable[[Path], list[Path]],
    tmp_path: Path,
    usual_umask: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path / "data")
    settings.DATA_DIR.mkdir(mode=0o700)
    try:
        for path in written(tmp_path):
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    finally:
        while OPEN_UPLOADS:
            OPEN_UPLOADS.pop().close()


@pytest.mark.django_db
@pytest.mark.parametrize("written", [simulator_log, contacts_export], ids=lambda f: f.__name__)
def test_a_loose_file_written_again_is_made_private(
    written: Callable[[Path], list[Path]], tmp_path: Path, usual_umask: None
) -> None:
    [path] = written(tmp_path)
    path.chmod(0o644)  # someone loosened it, or it was made before this release
    written(tmp_path)
    assert mode(path) == 0o600
