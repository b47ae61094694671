"""`smsdesk serve` as a newcomer runs it: a fresh data directory, nothing configured."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.worker.helpers import ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smsdesk(data_dir: Path, *args: str, **kwargs) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "DJANGO_"))}
    env.update(
        SMSDESK_DATA_DIR=str(data_dir),
        SMSDESK_GATEWAYS="simulator?delivery_delay=0.2",
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


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def get(url: str) -> tuple[int, str, str]:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as r:
            return r.status, r.headers.get("Location", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", ""), ""


def wait_for(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{process.stdout.read()}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_serve_brings_up_the_login_page_and_sends_then_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = smsdesk(tmp_path, "serve", "--port", str(port))
    try:
        wait_for(f"{base}/accounts/login/", server)
        status, _location, html = get(f"{base}/accounts/login/")
        assert status == 200 and "<title>Connexion · smsdesk</title>" in html
        status, location, _html = get(f"{base}/sms/sent/")
        assert status == 302 and location == "/accounts/login/?next=/sms/sent/"
        status, _location, _html = get(f"{base}/static/vendor/htmx/htmx.min.js")
        assert status == 200  # assets come from smsdesk itself

        # The worker runs inside serve: a message queued from another process goes out.
        send = smsdesk(tmp_path, "send", "--to", "0612345678", "--text", "Bonjour")
        out, _err = send.communicate(timeout=60)
        assert send.returncode == 0, out
        message_id = out.split("\t")[0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shell = smsdesk(
                tmp_path,
                "shell",
                "-c",
                f"from smsdesk.messaging.models import Message; "
                f"print(Message.objects.get(pk={message_id}).status)",
            )
            if shell.communicate(timeout=60)[0].strip().endswith("delivered"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the message was not delivered by serve's worker")
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "createuser admin --admin" in output  # the first start says how to begin
    assert "Traceback" not in output
    assert (tmp_path / "smsdesk.sqlite3").exists() and (tmp_path / "secret_key").exists()


def test_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = smsdesk(tmp_path, "serve", "--port", str(port))
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 1
    assert f"127.0.0.1:{port}" in output and "Traceback" not in output
