"""Starting smsdesk's commands as real processes on the test database, and talking HTTP."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path

from tests.worker.helpers import ROOT, database_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(data_dir: Path, *, url: str | None = None, **extra: str) -> dict[str, str]:
    """A clean environment: none of the caller's SMSDESK_ settings, the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "DJANGO_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        SMSDESK_DATA_DIR=str(data_dir),
        SMSDESK_DATABASE_URL=url or database_url(),
        SMSDESK_GATEWAYS="simulator?delivery_delay=0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def smsdesk(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def run(*args: str, env: dict[str, str], check: bool = True, **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        **kw,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"smsdesk {' '.join(args)}: {done.returncode}\n{done.stdout}{done.stderr}"
        )
    return done


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """Just enough of a browser: cookies, the login form's CSRF token, no redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def get(self, path: str, **headers: str) -> tuple[int, Message, bytes]:
        return self.request("GET", path, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Message, bytes]:
        url = self.base + path  # http://127.0.0.1:port, made by the test
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def log_in(self, username: str, password: str) -> None:
        _status, _headers, page = self.get("/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": username,
                "password": password,
            }
        ).encode()
        status, headers, _ = self.request(
            "POST",
            "/accounts/login/",
            data=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.base + "/",
            },
        )
        assert status == 302 and "login" not in headers.get("Location", ""), (status, headers)


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited early ({process.returncode}):\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 (our own http URL)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{log.read_text()}")


def stop(process: subprocess.Popen, timeout: float = 60) -> int:
    if process.poll() is None:
        process.terminate()
    return process.wait(timeout)
