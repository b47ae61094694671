"""Running the worker in tests: in-process steps, or real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

from smsdesk.gateways.base import Gateway
from smsdesk.worker.loop import GatewayRunner

ROOT = Path(__file__).resolve().parents[2]


def runner_for(
    gateway: Gateway, worker_id: str = "test-worker", **options: object
) -> GatewayRunner:
    runner = GatewayRunner(gateway, worker_id, threading.Event(), idle_sleep=0.01, **options)  # type: ignore[arg-type]
    return runner  # its first step starts the gateway


def drain(runner: GatewayRunner, rounds: int = 50) -> None:
    """Step until there is nothing left to do right now."""
    for _ in range(rounds):
        runner.gateway.poll()
        if not runner.step():
            return


def database_url() -> str:
    """The URL of the test database, for worker processes started by a test."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgresql://{s['USER']}@{host}:{port}/{s['NAME']}"


def start_worker(gateways: str, log_file: Path, **env_vars: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        **env_vars,
        SMSDESK_DATABASE_URL=database_url(),
        SMSDESK_GATEWAYS=gateways,
        SMSDESK_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="smsdesk.settings",
    )
    out = log_file.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def make_due(*ids: int) -> None:
    """Time passes: the messages (and their rows in the worker's queue) are due now."""
    from django.utils import timezone

    from smsdesk.messaging.models import Message, OutboxEntry

    now = timezone.now()
    Message.objects.filter(id__in=ids).update(due_at=now)
    OutboxEntry.objects.filter(message_id__in=ids).update(due_at=now)


def sigkill_and_restart(
    gateways: str,
    log_file: Path,
    *,
    busy: Callable[[], object],
    between: Callable[[], None],
    done: Callable[[], object],
) -> None:
    """A worker process SIGKILLed once `busy` holds, what it had in flight recovered as the
    next worker's start does, `between` asked (what the dead worker left), then a second
    worker until `done`; both stopped whatever happens."""
    import signal

    from django.utils import timezone

    from smsdesk.messaging import lifecycle

    first = start_worker(gateways, log_file)
    try:
        wait_until(lambda: bool(busy()), 120, "the first worker at work")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    lifecycle.recover_in_flight(live_workers=[], now=timezone.now())
    between()
    second = start_worker(gateways, log_file)
    try:
        wait_until(lambda: bool(done()), 240, "every message final")
    finally:
        second.terminate()
        second.wait(30)
