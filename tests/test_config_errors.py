"""A configuration error stops every command in one line, exit 2, before anything runs.

Each command runs as a real process with one wrong setting (the settings module is read
once per process, so this cannot be checked in-process); every wrong setting is tried with
at least one command, and every command with at least one wrong setting.
"""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import cycle
from pathlib import Path

import pytest

from smsdesk import config
from smsdesk.cli import OWN_COMMANDS
from smsdesk.gateways import registry
from tests.worker.helpers import ROOT

pytestmark = pytest.mark.slow

# (variable, wrong value, what the message must name)
WRONG = [
    ("SMSDESK_GATEWAYS", "sim=simulator?rate=abc", "rate"),
    ("SMSDESK_GATEWAYS", "carrier-pigeon", "unknown kind"),
    ("SMSDESK_GATEWAYS", "modem", "which port"),
    ("SMSDESK_GATEWAYS", "a=simulator a=simulator", "two gateways are named a"),
    ("SMSDESK_GATEWAYS", "simulator?colour=blue", "colour"),
    ("SMSDESK_GATEWAYS", "op=smpp://id:pw@127.0.0.1:2775?window=0", "window must be"),
    ("SMSDESK_GATEWAYS", "op=smpp://127.0.0.1:2775", "system_id"),
    ("SMSDESK_MAX_SEGMENTS", "ten", "whole number"),
    ("SMSDESK_MAX_RECIPIENTS", "0", "at least 1"),
    ("SMSDESK_SECURE_COOKIES", "maybe", "true or false"),
    ("SMSDESK_SECRET_KEY_FILE", "/nonexistent/secret", "cannot read"),
    ("SMSDESK_DATABASE_URL", "mongodb://db/sms", "unknown"),
    ("SMSDESK_TIME_ZONE", "Mars/Olympus", "time zone"),
    ("SMSDESK_COMMERCIAL_TIME_ZONE", "Paris", "time zone"),
    ("SMSDESK_LOG_LEVEL", "LOUD", "one of"),
    ("SMSDESK_DEFAULT_REGION", "ZZ", "country code"),
    ("SMSDESK_STOP_KEYWORDS", ", ,", "no word"),
    ("SMSDESK_COMMERCIAL_HOURS", "20:00-08:00", "COMMERCIAL"),
    ("SMSDESK_DATA_DIR", "/proc/no/such/dir", "cannot create"),
    ("SMSDESK_WORKER_LINES", "simulator,modem-9", "'modem-9' is not a line"),
    ("SMSDESK_WORKER_LINES", "../etc", "is not a line of SMSDESK_GATEWAYS"),
    ("SMSDESK_LINE_LEASE_SECONDS", "1", "at least 3"),
    ("SMSDESK_LINE_LEASE_SECONDS", "30s", "whole number"),
    ("SMSDESK_EMAIL_URL", "http://mail.example.org", "not a mail transport"),
    ("SMSDESK_EMAIL_URL", "file://relative/folder", "absolute folder"),
    ("SMSDESK_EMAIL_FROM", "nobody", "is not an address"),
]

# Arguments that would make each of smsdesk's own commands run (they never get that far).
ARGUMENTS = {
    "serve": ["--port", "1"],
    "web": ["--port", "1"],
    "backup": ["/tmp/never-written.tar"],
    "restore": ["/tmp/never-read.tar"],
    "createuser": ["eve"],
    "user": ["set", "eve", "--email-copies", "all"],
    "audit": ["list"],
    "purge": ["--before", "2020-01-01", "--dry-run"],
    "createtoken": ["eve"],
    "send": ["--to", "0612345678", "--text", "x"],
    "campaigns": ["list"],
    "contacts": ["export"],
    "simulate": ["inbound", "--from", "0612345678", "--text", "STOP"],
    "optout": ["list"],
    "modem": ["probe", "/dev/null"],
    "pdu": ["encode", "--to", "+33612345678", "--text", "x"],
}
# Every command of `smsdesk --help` (a new one is here at once), Django's own, the overview,
# and the README's first command.
COMMANDS = [
    *([name, *ARGUMENTS.get(name, [])] for name in OWN_COMMANDS),
    ["serve", "--no-worker", "--port", "1"],
    ["migrate"],
    ["--help"],
    ["scripts/start"],  # `smsdesk serve` through the venv
]


def run_all(tmp_path: Path) -> list[tuple[list[str], tuple[str, str, str], subprocess.Popen]]:
    runs = []
    pairs = (
        zip(cycle(COMMANDS), WRONG) if len(WRONG) >= len(COMMANDS) else zip(COMMANDS, cycle(WRONG))
    )
    for i, (command, wrong) in enumerate(pairs):
        name, value, _named = wrong
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "DJANGO_"))}
        env["SMSDESK_DATA_DIR"] = str(tmp_path / f"data{i}")
        env[name] = value
        if command == ["scripts/start"]:
            args = [str(ROOT / "scripts/start"), "--port", "1"]
        else:
            args = [sys.executable, "-m", "smsdesk.cli", *command]
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        runs.append((command, wrong, process))
    return runs


@pytest.fixture
def start_needs_no_install() -> None:
    # scripts/start installs smsdesk into .venv when its stamp is missing or older than
    # pyproject.toml; `scripts/test` installed the same package with the test extras (a
    # superset), so the plain install has nothing to add: say so, instead of going online.
    tested = ROOT / ".venv/.smsdesk-installed[test]"
    plain = ROOT / ".venv/.smsdesk-installed"
    if not tested.exists():
        pytest.skip("no .venv made by scripts/test")
    if not plain.exists() or plain.stat().st_mtime < tested.stat().st_mtime:
        plain.touch()


@pytest.mark.usefixtures("start_needs_no_install")
def test_every_command_stops_on_a_wrong_setting_in_one_line_with_exit_2(tmp_path: Path) -> None:
    seen_commands, seen_settings = set(), set()
    runs = run_all(tmp_path)
    try:
        results = [(command, wrong, p, *p.communicate(timeout=120)) for command, wrong, p in runs]
    finally:
        for _command, _wrong, process in runs:  # a command that started anyway (serve)
            if process.poll() is None:
                process.kill()
                process.wait()
    for command, (name, value, named), process, out, err in results:
        case = f"{' '.join(command)} with {name}={value!r}"
        assert process.returncode == 2, f"{case}: exit {process.returncode}\n{err}"
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"{case}: {err}"
        assert lines[0].startswith("smsdesk: configuration error: "), case
        assert named in lines[0] and (name in lines[0] or "COMMERCIAL" in named), case
        assert out == "", case
        seen_commands.add(" ".join(command))
        seen_settings.add((name, value))
    assert len(seen_commands) == len(COMMANDS) and len(seen_settings) == len(WRONG)


def test_the_readme_gateway_list_is_one_gateway_with_two_numbers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = "sim=simulator?fail_permanent=+33600000001,+33600000002"
    assert f'SMSDESK_GATEWAYS="{example}"' in readme
    monkeypatch.setenv("SMSDESK_GATEWAYS", example)
    entries = config.env_words("SMSDESK_GATEWAYS", ["simulator"])
    assert entries == [example]
    registry.check(entries)
    [spec] = registry.parse_specs(entries)
    gateway = registry.build(spec)
    assert gateway.fail_permanent == {"+33600000001", "+33600000002"}


def test_gateways_are_separated_by_spaces(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SMSDESK_GATEWAYS", " a=simulator\tb=simulator?undeliverable=+336,+337 ")
    assert config.env_words("SMSDESK_GATEWAYS", []) == [
        "a=simulator",
        "b=simulator?undeliverable=+336,+337",
    ]
