"""Driving the test SMSC (tests/gateways/smpp_server.py) from a test: a separate process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SERVER = Path(__file__).resolve().parent / "smpp_server.py"


class Smsc:
    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        self.args = args
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        port = ["--port", str(self.port)] if self.port else []
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--log", str(self.log), *port, *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().split()
        assert first and first[0] == "port", f"the SMSC did not start: {first}"
        self.port = int(first[1])

    def command(self, line: str) -> str:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        assert reply.startswith("ok"), f"SMSC said {reply!r} to {line!r}"
        return reply[2:].strip()

    def stats(self) -> dict[str, int]:
        return dict(json.loads(self.command("stats")))

    def received(self) -> list[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def url(self, options: str = "", *, password: str = "secret") -> str:  # noqa: S107
        query = f"?{options}" if options else ""
        return f"smpp://smsdesk:{password}@127.0.0.1:{self.port}{query}"


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
