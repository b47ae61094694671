"""A modem's SIM PIN, given in SMSDESK_GATEWAYS, shows nowhere: not in `serve`'s start-up line,
not in any log line (at DEBUG level), not on the Passerelles page, even when the modem answers
the PIN with an error."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.gateways.modem.emulator import ModemEmulator
from tests.worker.helpers import ROOT
from tests.worker.test_serve import free_port, wait_for

pytestmark = pytest.mark.slow

PIN = "80594217"  # 8 digits: no port, pid or time stamp of the run looks like it
ADMIN_PASSWORD = "un mot de passe 42"


def smsdesk(data_dir: Path, *args: str, gateways: str, **kwargs) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "DJANGO_"))}
    env.update(
        SMSDESK_DATA_DIR=str(data_dir),
        SMSDESK_GATEWAYS=gateways,
        SMSDESK_LOG_LEVEL="DEBUG",
        PYTHONUNBUFFERED="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def logged_in_opener(base: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/accounts/login/", timeout=10) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
    assert token
    form = {"csrfmiddlewaretoken": token.group(1), "username": "alice", "password": ADMIN_PASSWORD}
    request = urllib.request.Request(  # noqa: S310 - the server this test started
        f"{base}/accounts/login/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Referer": f"{base}/accounts/login/"},
    )
    with opener.open(request, timeout=10) as answer:
        assert answer.url == f"{base}/", "the login did not go through"
    return opener


def test_the_pin_shows_in_no_log_line_and_no_page(tmp_path: Path) -> None:
    emulator = ModemEmulator(tmp_path, pin=PIN)
    emulator.script.pin_answer = "+CME ERROR: 100"  # an error that quotes the command sent
    gateways = f"modem:{emulator.path}?pin={PIN}&timeout=2"
    data = tmp_path / "data"
    setup = smsdesk(data, "migrate", "-v", "0", gateways=gateways)
    assert setup.communicate(timeout=120)[0] == ""
    create = smsdesk(
        data,
        "createuser",
        "alice",
        "--admin",
        "--password-stdin",
        gateways=gateways,
        stdin=subprocess.PIPE,
    )
    create.communicate(ADMIN_PASSWORD + "\n", timeout=60)
    assert create.returncode == 0

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = smsdesk(data, "serve", "--port", str(port), gateways=gateways)
    try:
        wait_for(f"{base}/accounts/login/", server)
        deadline = time.monotonic() + 60
        while PIN not in emulator.pin_attempts:  # the worker did send it to the modem
            assert time.monotonic() < deadline, "the PIN never reached the modem"
            time.sleep(0.1)
        time.sleep(1)  # what the worker logs and records of the answer
        opener = logged_in_opener(base)
        with opener.open(f"{base}/gateways/", timeout=10) as page:
            gateways_page = page.read().decode()
        with opener.open(f"{base}/", timeout=10) as page:
            home = page.read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
        emulator.close()
    assert "Passerelles" in gateways_page and "modem" in gateways_page
    assert PIN not in gateways_page and PIN not in home
    assert "set-up failed" in output  # the modem's answer was logged...
    assert "+CME ERROR: 100" in output
    assert PIN not in output  # ...without the PIN, and so was the start-up line
    assert f"modem:{emulator.path}?pin=***&timeout=2" in output
