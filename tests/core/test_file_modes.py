"""The data directory is 0700, the database (with its -wal and -shm) and the secret key 0600:
on creation, and tightened again at each start if someone loosened them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from smsdesk import config


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
    done = smsdesk(data, "check")
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    assert [mode(f) for f in [*files, data / "secret_key"]] == [0o600] * 4
