"""Production web servers compared on our own pages and API: granian and gunicorn (issue 23).

Seeds a database with `bench/million.py`'s generator (default 100,000 messages, PostgreSQL
by default: the production set-up), collects the static files as the install does, then for
each server starts it as a separate process with its workers sized to the cores (all of them
at once, on their own ports), then loads them in turn, a few seconds each, alternating the
order from round to round, with a small load generator (threads, keep-alive connections,
`http.client`), on each of:

- `page`: the Sent list (`/sms/sent/`) as a logged-in user (a session cookie);
- `api`: an API send, `POST /api/v1/messages` with a bearer token (one number a call: each
  call creates a campaign and its message, queued; no worker runs).

It prints, per server and target, the requests per second, the median and 99th percentile
latency and the errors (any answer but 200/201, or a failed connection), per slice, then the
median of the rounds and of each round's ratio to the first server (the robust figure on a
noisy machine). The load generator runs on the same 2 cores as the server: the figures
compare the servers with each other, they are not the machine's capacity.

Usage:

    nice .venv/bin/python bench/webserver.py                         # PostgreSQL, 10 rounds
    nice .venv/bin/python bench/webserver.py --database-url sqlite --rounds 1 --seconds 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CORES = os.cpu_count() or 2


def servers(port: int, threads: int) -> dict[str, list[str]]:
    """Each server as `smsdesk web` or a reader of our docs would start it, on `port`."""
    app = "smsdesk.wsgi:application"
    return {
        "granian": [
            str(VENV_BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(CORES), "--blocking-threads", str(threads),
            "--no-access-log", app,
        ],
        "gunicorn": [
            str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(CORES),
            "--worker-class", "gthread", "--threads", str(threads), app,
        ],
        "gunicorn-sync": [  # the classic rule for sync workers: 2 x cores + 1
            str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",
            "--workers", str(2 * CORES + 1), app,
        ],
    }  # fmt: skip


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


Request = Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]


def load(port: int, request: Request, *, clients: int, seconds: float) -> Run:
    """`clients` threads, each on its own keep-alive connection, for `seconds`."""
    run = Run()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = 0
        mine: list[float] = []
        errors = 0
        while time.monotonic() < deadline:
            method, path, body, headers = request(n * 1_000_000 + i)
            i += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status in (200, 201)
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                errors += 1
        conn.close()
        with lock:
            run.latencies.extend(mine)
            run.errors += errors

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.monotonic() - started
    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {process.args}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz")


def prepare(url: str, messages: int) -> tuple[str, str, dict[str, str]]:
    """A seeded database, a session and a token; returns (cookie, token, server env)."""
    data_dir = tempfile.mkdtemp(prefix="smsdesk-bench-web-")
    if url == "sqlite":
        url = f"sqlite:///{data_dir}/bench.sqlite3"
    env = {
        "SMSDESK_DATA_DIR": data_dir,
        "SMSDESK_DATABASE_URL": url,
        "SMSDESK_LOG_LEVEL": "WARNING",
        "SMSDESK_STATIC_ROOT": f"{data_dir}/static",
        "DJANGO_SETTINGS_MODULE": "smsdesk.settings",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from bench.million import recreate_postgres, seed

    if url.startswith("postgres"):
        recreate_postgres(url)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from smsdesk.accounts.models import User
    from smsdesk.accounts.services import create_token

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    seed(messages=messages, correspondents=max(1000, messages // 50), log=lambda _m: None)
    user = User.objects.create_user("bench", password="bench password 42", role="admin")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    _token, raw = create_token(user=user)
    return f"sessionid={session.session_key}", raw, env


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/smsdesk_bench_web"
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--threads", type=int, default=4, help="threads per server worker")
    parser.add_argument("--only", nargs="*", help="servers to run (default: all)")
    args = parser.parse_args()

    cookie, token, env = prepare(args.database_url, args.messages)
    page_headers = {"Cookie": cookie, "Host": "127.0.0.1"}
    api_headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Host": "127.0.0.1",
    }

    def page(_i: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "GET", "/sms/sent/", None, page_headers

    def api(i: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        body = json.dumps({"to": [f"+3361{i % 10_000_000:07d}"], "text": "Bonjour"}).encode()
        return "POST", "/api/v1/messages", body, api_headers

    targets = {"page": page, "api": api}
    names = args.only or list(servers(0, args.threads))
    results: dict[tuple[str, str], list[Run]] = {}
    print(
        f"{args.database_url.split(':')[0]}, {args.messages:,} messages, {CORES} cores, "
        f"{args.clients} clients, {args.seconds:g} s per slice, {args.threads} threads/worker"
    )
    # Every server runs at once, each on its own port, idle while another is loaded: the
    # slices alternate between them, so a noisy neighbour hits them all alike.
    running: dict[str, tuple[int, subprocess.Popen]] = {}
    try:
        for name in names:
            port = free_port()
            multiproc = tempfile.mkdtemp(prefix=f"smsdesk-bench-prom-{name}-")
            process = subprocess.Popen(
                servers(port, args.threads)[name],
                cwd=ROOT,
                env={**os.environ, **env, "PROMETHEUS_MULTIPROC_DIR": multiproc},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            running[name] = (port, process)
        for port, process in running.values():
            wait_ready(port, process)
            for request in targets.values():
                load(port, request, clients=args.clients, seconds=1.0)  # warm-up
        for round_ in range(1, args.rounds + 1):
            order = names if round_ % 2 else list(reversed(names))
            for target, request in targets.items():
                for name in order:
                    run = load(
                        running[name][0], request, clients=args.clients, seconds=args.seconds
                    )
                    results.setdefault((name, target), []).append(run)
                    print(
                        f"round {round_:>2} {name:<14} {target:<5} {run.rate:7.1f} req/s  "
                        f"p50 {run.pct(0.5):7.1f} ms  p99 {run.pct(0.99):7.1f} ms  "
                        f"errors {run.errors}",
                        flush=True,
                    )
    finally:
        for _port, process in running.values():
            process.send_signal(signal.SIGTERM)
        for _port, process in running.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    first = names[0]
    print(f"\nmedian of {args.rounds} rounds (ratio: req/s over {first}'s in the same round)")
    print("| server | target | req/s | ratio | p50 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (name, target), runs in results.items():
        ratios = [r.rate / b.rate for r, b in zip(runs, results[(first, target)], strict=True)]
        print(
            f"| {name} | {target} | {statistics.median(r.rate for r in runs):.0f} | "
            f"{statistics.median(ratios):.2f} | "
            f"{statistics.median(r.pct(0.5) for r in runs):.1f} | "
            f"{statistics.median(r.pct(0.99) for r in runs):.1f} | {sum(r.errors for r in runs)} |"
        )


if __name__ == "__main__":
    main()
