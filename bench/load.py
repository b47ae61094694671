"""Load test (issue 23): people browsing the lists and API clients sending, at once, for a
while, against a running smsdesk; p50 / p99 per page and the errors.

Two set-ups, each started by this script on a database seeded by `bench/million.py`'s
generator (1,000,000 messages by default; seeded once, reused by later runs):

- `--setup production`: PostgreSQL, `smsdesk web` (granian, `--web-workers` processes) and
  `smsdesk worker` as separate processes, as the install runs them;
- `--setup embedded`: `smsdesk serve` (what `scripts/start` runs: waitress and the worker in
  one process) on SQLite.

Then `--users` browsing users (default 200), each logged in with its own session, read a
list page (home, Envoyés, Reçus, Non lus, conversations, campaigns, contacts, STOP, calls,
Passerelles, a search, a deep page) and think 1 to 3 s before the next; `--api-clients` (50)
each send one SMS through `POST /api/v1/messages` and think `--api-think` seconds (1). For
`--seconds` (120) after a 10 s ramp. The simulator takes what the worker hands it.

The driver is the standard library (a thread and a keep-alive connection per user): it adds
no dependency (locust would bring gevent, flask and a dozen more for one script), and its
figures are client-side times, from the request written to the body read, on the same
machine as the server: the client's own CPU is part of the load (say so with the figures).

Usage:

    .venv/bin/python bench/load.py --setup production \\
        --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_load
    .venv/bin/python bench/load.py --setup embedded --data-dir /tmp/smsdesk-load
    .venv/bin/python bench/load.py ... --messages 20000 --seconds 20 --users 20   # a quick look

The PostgreSQL database named is DROPPED and seeded again unless it already holds messages.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import _setup  # beside this script

ROOT = _setup.ROOT
PASSWORD = "load-test-password-42"
RAMP = 10.0


@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, seconds: float, error: str = "") -> None:
        with self.lock:
            if error:
                self.errors[label].append(error)
            else:
                self.times[label].append(seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(args: argparse.Namespace) -> tuple[str, str]:
    """The seeded database, and the session cookies and API token of a user of it."""
    import million  # beside this script

    data_dir = args.data_dir or os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"smsdesk-load-{args.setup}"
    )
    url, data_dir = _setup.environment(args.database_url, data_dir, SMSDESK_DEBUG="0")
    reuse = million._seeded_before(url)
    if not reuse:
        _setup.empty_database(url)
    _setup.start_django(migrate=False)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if reuse:
        print(f"reusing {url}: seeded before")
    else:
        print(f"seeding {args.messages:,} messages into {url}")
        facts = million.seed(
            messages=args.messages, correspondents=args.correspondents, rng_seed=12
        )
        print(f"seeded in {facts.seconds:.1f} s")
    return url, data_dir


def sessions_and_token(users: int) -> tuple[list[str], str, list[int]]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from smsdesk.accounts import services as accounts
    from smsdesk.accounts.models import ApiToken, User
    from smsdesk.directory.models import Contact

    user = User.objects.filter(username="load").first()
    if user is None:
        user = accounts.create_user(username="load", password=PASSWORD, role=User.Role.ADMIN)
    ApiToken.objects.filter(user=user).delete()
    _token, raw = accounts.create_token(user=user, name="load")
    cookies = []
    for _ in range(users):
        client = Client()
        client.force_login(user)
        cookies.append(
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
    contacts = list(Contact.objects.values_list("id", flat=True)[:200])
    connection.close()
    return cookies, raw, contacts


def pages(contacts: list[int]) -> list[tuple[str, str]]:
    one = contacts[0] if contacts else 1
    return [
        ("home", "/"),
        ("sent", "/sms/sent/"),
        ("received", "/sms/received/"),
        ("unread", "/sms/unread/"),
        ("conversations", "/sms/conversations/"),
        ("campaigns", "/sms/campaigns/"),
        ("contacts", "/directory/contacts/"),
        ("contact", f"/directory/contacts/{one}/"),
        ("stop", "/stop/"),
        ("calls", "/calls/"),
        ("gateways", "/gateways/"),
        ("search", "/sms/sent/?q=rendez-vous"),
        ("sent, last page", "/sms/sent/?last=1"),
    ]


class Connection:
    """One keep-alive connection, opened again when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
            except Exception:
                # A timeout leaves the connection mid-answer: a new one for the next request.
                self.conn.close()
                self.conn = None
                raise
        raise AssertionError("unreachable")


def browse(
    port: int,
    cookie: str,
    links: list[tuple[str, str]],
    tally: Tally,
    until: float,
    start_at: float,
) -> None:
    rng = random.Random()
    conn = Connection(port)
    time.sleep(max(0.0, start_at - time.monotonic()))
    while time.monotonic() < until:
        label, path = rng.choice(links)
        t0 = time.monotonic()
        try:
            status, _body = conn.request("GET", path, {"Cookie": cookie})
            error = "" if status == 200 else f"HTTP {status}"
        except Exception as e:
            error = type(e).__name__
        tally.add(label, time.monotonic() - t0, error)
        time.sleep(rng.uniform(1.0, 3.0))


def send(port: int, token: str, think: float, tally: Tally, until: float, start_at: float) -> None:
    rng = random.Random()
    conn = Connection(port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    time.sleep(max(0.0, start_at - time.monotonic()))
    while time.monotonic() < until:
        number = f"+3361{rng.randrange(10**7):07d}"  # a range phonenumbers knows valid
        body = json.dumps({"to": [number], "text": f"Votre code : {rng.randrange(10**6):06d}"})
        t0 = time.monotonic()
        try:
            status, answer = conn.request("POST", "/api/v1/messages", headers, body.encode())
            error = "" if status == 201 else f"HTTP {status} {answer[:120]!r}"
        except Exception as e:
            error = type(e).__name__
        tally.add("API send", time.monotonic() - t0, error)
        time.sleep(think)


def start_server(
    args: argparse.Namespace, url: str, data_dir: str, port: int, log: Path
) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "DJANGO_"))}
    env.update(
        SMSDESK_DATA_DIR=data_dir,
        SMSDESK_DATABASE_URL=url,
        SMSDESK_GATEWAYS="simulator?delivery_delay=1",
        SMSDESK_LOG_LEVEL="WARNING",
        SMSDESK_DEBUG="0",
    )
    out = log.open("ab")
    cli = [sys.executable, "-m", "smsdesk.cli"]
    if args.setup == "production":
        return [
            subprocess.Popen(
                [*cli, "web", "--port", str(port), "--workers", str(args.web_workers)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [*cli, "worker"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            ),
        ]
    return [
        subprocess.Popen(
            [*cli, "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    ]


def wait_ready(port: int, processes: list[subprocess.Popen], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not answer within 120 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(tally: Tally, seconds: float) -> None:
    print(f"\n{'page':<18} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    total = errors = 0
    for label in sorted(set(tally.times) | set(tally.errors), key=lambda x: (x == "API send", x)):
        times = tally.times.get(label, [])
        errs = tally.errors.get(label, [])
        total += len(times) + len(errs)
        errors += len(errs)
        if times:
            print(
                f"{label:<18} {len(times) + len(errs):>8} {len(errs):>6} "
                f"{percentile(times, 0.5) * 1000:>8.0f} {percentile(times, 0.99) * 1000:>8.0f} "
                f"{max(times) * 1000:>8.0f}"
            )
        else:
            print(f"{label:<18} {len(errs):>8} {len(errs):>6}")
    browse = [t for label, ts in tally.times.items() if label != "API send" for t in ts]
    print(
        f"\n{total:,} requests in {seconds:.0f} s ({total / seconds:.1f}/s), {errors} errors; "
        f"pages p50 {statistics.median(browse) * 1000 if browse else 0:.0f} ms, "
        f"p99 {percentile(browse, 0.99) * 1000 if browse else 0:.0f} ms"
    )
    for label, errs in tally.errors.items():
        print(f"  errors on {label}: {sorted(set(errs))[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setup", choices=("production", "embedded"), required=True)
    _setup.add_database_option(parser)
    parser.add_argument("--data-dir", default="", help="the data directory (SQLite's file)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--correspondents", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=200, help="people browsing")
    parser.add_argument("--api-clients", type=int, default=50)
    parser.add_argument("--api-think", type=float, default=1.0, help="seconds between sends")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--web-workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.setup == "production" and not args.database_url.startswith("postgres"):
        parser.error("--setup production runs on PostgreSQL: give --database-url")
    if args.setup == "embedded" and args.database_url:
        parser.error("--setup embedded runs on SQLite: no --database-url")

    url, data_dir = seed(args)
    cookies, token, contacts = sessions_and_token(args.users)
    from django.db import connection

    from smsdesk.messaging.models import Message

    last = Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
    connection.close()
    port = free_port()
    log = Path(data_dir) / f"load-{args.setup}.log"
    processes = start_server(args, url, data_dir, port, log)
    try:
        wait_ready(port, processes, log)
        load = os.getloadavg()
        print(
            f"{args.setup}: {args.users} users browsing, {args.api_clients} API clients, "
            f"{args.seconds:.0f} s (load average before: {load[0]:.1f})"
        )
        tally = Tally()
        now = time.monotonic()
        until = now + RAMP + args.seconds
        threads = [
            threading.Thread(
                target=browse,
                args=(port, cookie, pages(contacts), tally, until, now + RAMP * i / args.users),
                daemon=True,
            )
            for i, cookie in enumerate(cookies)
        ] + [
            threading.Thread(
                target=send,
                args=(
                    port,
                    token,
                    args.api_think,
                    tally,
                    until,
                    now + RAMP * i / max(1, args.api_clients),
                ),
                daemon=True,
            )
            for i in range(args.api_clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.seconds + RAMP + 120)
        load = os.getloadavg()
        print(f"load average after: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
        report(tally, args.seconds + RAMP)
        new = Message.objects.filter(id__gt=last)
        created = new.count()
        handed = new.filter(sent_at__isnull=False).count()
        print(f"messages sent through the API: {created:,}, handed to the simulator: {handed:,}")
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
