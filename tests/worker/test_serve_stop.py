"""`smsdesk serve` stopped by SIGTERM (systemd's stop, a container's): a request being answered
is answered in full, then the server exits cleanly and listens no more."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

import pytest

from tests.worker.helpers import ROOT, wait_until

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    connection = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def answers(port: int) -> bool:
    try:
        return get(port, "/accounts/login/", 2)[0] == 200
    except OSError:
        return False


def test_sigterm_lets_a_request_in_progress_finish_then_exits(tmp_path: Path) -> None:
    port = free_port()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.core.slow_site",
        SMSDESK_DATA_DIR=str(tmp_path / "data"),  # its own SQLite database
        SMSDESK_GATEWAYS="simulator",
        SMSDESK_STOP_GRACE="10",
        SMSDESK_LOG_LEVEL="WARNING",
        SMSDESK_LANGUAGE="en",
    )
    env.pop("SMSDESK_DATABASE_URL", None)
    log = tmp_path / "serve.txt"
    server = subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: answers(port), 60, "serve answering")
        result: dict = {}

        def ask_slow_page() -> None:
            try:
                result["status"], result["body"] = get(port, "/test-slow/", 30)
            except OSError as e:
                result["error"] = repr(e)

        asking = threading.Thread(target=ask_slow_page)
        asking.start()
        time.sleep(1)  # the request is in the view, which answers after 3 s
        server.send_signal(signal.SIGTERM)
        asking.join(30)
        returncode = server.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    output = log.read_text()
    assert result == {"status": 200, "body": b"answered in full"}, output
    assert returncode == 0, output
    assert not answers(port)  # stopped listening
    assert "Traceback" not in output, output
