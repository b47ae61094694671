"""The environment file systemd reads (EnvironmentFile=) read by the commands as well."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smsdesk.config import ConfigError, load_env_file
from tests.worker.helpers import ROOT


def test_it_reads_systemds_syntax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "smsdesk.env"
    file.write_text(
        "# comment\n; another\n\nSMSDESK_T_A=plain value\nSMSDESK_T_B='single # quoted'\n"
        'SMSDESK_T_C="say \\"hi\\""\nSMSDESK_T_D=simulator?rate=5&log=/x\n SMSDESK_T_E = spaced \n'
        "SMSDESK_T_SET=from the file\n",
        encoding="utf-8",
    )
    for name in "ABCDE":
        monkeypatch.delenv(f"SMSDESK_T_{name}", raising=False)
    monkeypatch.setenv("SMSDESK_T_SET", "from the environment")
    assert load_env_file(str(file)) == file
    assert os.environ["SMSDESK_T_A"] == "plain value"
    assert os.environ["SMSDESK_T_B"] == "single # quoted"
    assert os.environ["SMSDESK_T_C"] == 'say "hi"'
    assert os.environ["SMSDESK_T_D"] == "simulator?rate=5&log=/x"
    assert os.environ["SMSDESK_T_E"] == "spaced"
    assert os.environ["SMSDESK_T_SET"] == "from the environment"  # the environment wins
    for name in "ABCDE":
        monkeypatch.delenv(f"SMSDESK_T_{name}")


@pytest.mark.parametrize("line", ["no equals sign", "=value", "1ABC=x", "A-B=x"])
def test_a_bad_line_names_its_number(tmp_path: Path, line: str) -> None:
    file = tmp_path / "smsdesk.env"
    file.write_text(f"# first\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        load_env_file(str(file))


def test_the_commands_read_it(tmp_path: Path) -> None:
    env_file = tmp_path / "smsdesk.env"
    env_file.write_text(
        f"SMSDESK_DATA_DIR={tmp_path / 'data'}\nSMSDESK_TIME_ZONE=America/Montreal\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "DJANGO_"))}
    code = "from django.conf import settings; print(settings.TIME_ZONE, settings.DATA_DIR)"
    out = subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env={**env, "SMSDESK_ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["America/Montreal", str(tmp_path / "data")]
    missing = subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", "check"],
        cwd=ROOT,
        env={**env, "SMSDESK_ENV_FILE": str(tmp_path / "nowhere.env")},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr and "nowhere.env" in missing.stderr
