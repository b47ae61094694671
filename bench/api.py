"""Single-message ingest (issue 19): one message per `POST /api/v1/messages`, 8 keep-alive
clients, on the production set-up (`smsdesk web`: granian, docs/production.md) with
`smsdesk worker` running and delivering (simulator, no delivery delay); and, in the same run,
Kannel's HTTP sendsms (bearerbox bound over SMPP to our test SMSC, smsbox, as bench/smpp.py
starts them) driven by the same client.

    .venv/bin/python bench/api.py                                    # SQLite, 10,000 a round
    .venv/bin/python bench/api.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_api
    .venv/bin/python bench/api.py --profile --messages 2000          # one process, cProfile

The client is the raw-socket HTTP/1.1 client of ../shared/peers/kannel.sh (threads, one
keep-alive connection each; about a third of http.client's CPU): the load generator shares
the machine's 2 cores with the servers, so a lighter client leaves more to the server.
Every answer is read whole; anything but 201 (smsdesk) or 202 (Kannel) is an error.

Printed per round: the submit rate (N / time from the first request to the last answer),
p50/p99 latency of the answers, the end-to-end rate (N / time from the first request until
all N are `delivered` in the database, or for Kannel until smsbox called back the N-th
delivery report), and the load average. Each smsdesk answer is a committed message (the
service returns after the commit). The token's rate limit is on (SMSDESK_API_RATE set high
enough not to refuse: every request is still counted), and so are the STOP list, the scopes
and the recipient checks: nothing is skipped.

`--profile`: the same requests through Django's WSGI handler in this process, under
cProfile (where the time of one request goes: middleware, authentication, validation,
queries, commit), with the queries of one request listed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)

ROOT = _setup.ROOT


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _read_answer(s: socket.socket, buf: bytes) -> tuple[bytes, bytes, bytes]:
    """One HTTP/1.1 answer from `s`: (head, body, what follows)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += s.recv(65536)
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                buf += s.recv(65536)
            body, buf = body + buf[:size], buf[size + 2 :]
            if size == 0:
                return head, body, buf
    length = max(length, 0)
    while len(buf) < length:
        buf += s.recv(65536)
    return head, buf[:length], buf[length:]


def drive(
    port: int, n: int, request: Callable[[int], bytes], ok: bytes, *, clients: int = 8
) -> Run:
    """N requests over `clients` keep-alive connections (threads): the raw-socket client."""
    run = Run()
    counter = iter(range(n))
    lock = threading.Lock()

    def one() -> None:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        mine: list[float] = []
        errors = 0
        first = ""
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            started = time.perf_counter()
            s.sendall(request(i))
            head, body, buf = _read_answer(s, buf)
            if head.startswith(b"HTTP/1.1 " + ok) or head.startswith(b"HTTP/1.0 " + ok):
                mine.append(time.perf_counter() - started)
            else:
                errors += 1
                first = first or (head[:60] + b" " + body[:200]).decode(errors="replace")
        s.close()
        with lock:
            run.latencies.extend(mine)
            run.errors += errors
            run.first_error = run.first_error or first

    started = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - started
    return run


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- smsdesk ------------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """A fresh database, the static files, an administrator and a token with every scope;
    returns (the raw token, the servers' environment)."""
    data_dir = tempfile.mkdtemp(prefix="smsdesk-bench-api-")
    settings = {
        "SMSDESK_STATIC_ROOT": f"{data_dir}/static",
        # counted at each request (one UPDATE ... RETURNING), high enough never to refuse
        "SMSDESK_API_RATE": str(args.api_rate),
        "SMSDESK_GATEWAYS": "simulator?delivery_delay=0",
        "SMSDESK_ALLOWED_HOSTS": "127.0.0.1",
        "SMSDESK_WEB_WORKERS": str(args.workers),
        "SMSDESK_WEB_THREADS": str(args.threads),
    }
    if getattr(args, "group_commit", ""):
        settings["SMSDESK_API_GROUP_COMMIT"] = args.group_commit
    url, data_dir = _setup.environment(args.database_url, data_dir, **settings)
    _setup.empty_database(url)
    _setup.start_django()
    from django.core.management import call_command
    from django.db import connection

    from smsdesk.accounts.models import User
    from smsdesk.accounts.services import create_token

    call_command("collectstatic", interactive=False, verbosity=0)
    user = User.objects.create_user("bench", password="bench password 42", role="admin")
    _token, raw = create_token(user=user)
    connection.close()
    env = {
        **os.environ,
        **settings,
        "SMSDESK_DATA_DIR": data_dir,
        "SMSDESK_DATABASE_URL": url,
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="smsdesk-bench-prom-"),
    }
    return raw, env


def wait_ready(
    port: int, process: subprocess.Popen, timeout: float = 60, *, any_answer: bool = False
) -> None:
    """Until the server on `port` answers /healthz with 200 (`any_answer`: with anything, for
    the ladder's bare servers that have no /healthz)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {process.args}")
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                head, _body, _rest = _read_answer(s, b"")
                if head.startswith(b"HTTP/1.1 " if any_answer else b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz")


def api_request(token: str, offset: int) -> Callable[[int], bytes]:
    head = (
        "POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    ).encode()

    def request(i: int) -> bytes:
        body = json.dumps(
            {"to": [f"+3361{(offset + i) % 10_000_000:07d}"], "text": f"Bench message {i}"}
        ).encode()
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    return request


def delivered_count() -> int:
    from django.db import connection

    from smsdesk.messaging.models import Message

    n = Message.objects.filter(status=Message.Status.DELIVERED).count()
    connection.close()
    return n


def smsdesk_round(
    port: int, token: str, n: int, offset: int, already: int, clients: int
) -> tuple[Run, float]:
    t0 = time.perf_counter()
    run = drive(port, n, api_request(token, offset), b"201", clients=clients)
    accepted = len(run.latencies)
    deadline = time.monotonic() + 600
    while delivered_count() < already + accepted and time.monotonic() < deadline:
        time.sleep(0.1)
    return run, time.perf_counter() - t0


# --- Kannel -------------------------------------------------------------------------------


def sendsms_request(dlr_port: int) -> Callable[[int], bytes]:
    from urllib.parse import quote

    dlr = quote(f"http://127.0.0.1:{dlr_port}/dlr?id=%d", safe="")

    def request(i: int) -> bytes:
        path = (
            f"/cgi-bin/sendsms?username=bench&password=bench&to=3361{i:07d}"
            f"&from=MYSHOP&text=Bench+message+{i}&dlr-mask=1&dlr-url={dlr}"
        )
        return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()

    return request


def kannel_round(port: int, dlr: object, n: int, clients: int) -> tuple[Run, float]:
    before = dlr.count  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    run = drive(port, n, sendsms_request(dlr.port), b"202", clients=clients)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 600
    while dlr.count < before + len(run.latencies) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    return run, time.perf_counter() - t0


def report(name: str, run: Run, e2e: float, n: int) -> dict[str, float]:
    accepted = len(run.latencies)
    line = {
        "submit": run.rate,
        "p50": run.pct(0.5),
        "p99": run.pct(0.99),
        "e2e": accepted / e2e if e2e else 0.0,
    }
    print(
        f"{name:<22} {n:,} sent, {accepted:,} accepted: submit {line['submit']:7,.0f}/s  "
        f"p50 {line['p50']:6.1f} ms  p99 {line['p99']:6.1f} ms  end-to-end "
        f"{line['e2e']:7,.0f}/s  errors {run.errors}  load {load_average()}"
        + (f"\n    first error: {run.first_error}" if run.first_error else ""),
        flush=True,
    )
    return line


# --- the profile ----------------------------------------------------------------------------


def profile(args: argparse.Namespace) -> None:
    """Requests through Django's WSGI handler in this process, under cProfile."""
    import cProfile
    import io
    import pstats

    token, _env = prepare(args)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:  # the production handler (the API's own middleware chain, issue 19)
        from smsdesk.core.handler import SmsdeskWSGIHandler as WSGIHandler
    except ImportError:  # older code (a checkout of main, for "before")
        from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    request = api_request(token, 0)

    def call(i: int) -> int:
        raw = request(i)
        _head, _, body = raw.partition(b"\r\n\r\n")
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/messages",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        status: list[str] = []
        out = handler(environ, lambda s, h, *a: status.append(s))
        b"".join(out)
        out.close()  # type: ignore[attr-defined]
        return int(status[0].split()[0])

    for i in range(50):  # warm-up
        assert call(i) == 201
    with CaptureQueriesContext(connection) as queries:
        assert call(50) == 201
    print(f"queries of one request: {len(queries.captured_queries)}")
    for q in queries.captured_queries:
        print(f"  {q['time']}s  {q['sql'][:150]}")
    n = args.messages
    t0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(100_000, 100_000 + n):
        call(i)
    took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(
        f"{n} requests in one thread: {n / took:,.0f}/s, {took / n * 1000:.2f} ms each, "
        f"of which {cpu / n * 1000:.2f} ms of CPU in this process"
    )
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for i in range(100, 100 + n):
        call(i)
    prof.disable()
    took = time.perf_counter() - t0
    print(f"{n} requests in one thread, profiled: {n / took:,.0f}/s, {took / n * 1000:.2f} ms each")
    if args.profile_out:
        prof.dump_stats(args.profile_out)
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="granian's")
    parser.add_argument("--threads", type=int, default=4, help="per granian worker")
    parser.add_argument("--api-rate", type=int, default=1_000_000)
    parser.add_argument(
        "--group-commit",
        choices=["true", "false"],
        default="",
        help="SMSDESK_API_GROUP_COMMIT (default: the setting's, true on SQLite only)",
    )
    parser.add_argument("--no-kannel", action="store_true")
    parser.add_argument("--label", default="", help="a name for this code in the lines printed")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-out", default="", help="with --profile: the pstats file")
    _setup.add_database_option(parser)
    args = parser.parse_args()
    if args.profile:
        profile(args)
        return
    token, env = prepare(args)
    engine = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    label = f"smsdesk {engine}" + (f" {args.label}" if args.label else "")
    print(
        f"{label}: granian {args.workers} workers x {args.threads} threads, worker "
        f"(simulator), {args.clients} clients, {args.messages:,} messages a round; "
        f"load {load_average()}",
        flush=True,
    )
    port = free_port()
    log = open(Path(env["SMSDESK_DATA_DIR"]) / "servers.log", "ab")  # noqa: SIM115
    procs: list[subprocess.Popen] = []
    work = Path(tempfile.mkdtemp(prefix="smsdesk-bench-api-kannel-"))
    results: dict[str, list[dict[str, float]]] = {}
    try:
        web = subprocess.Popen(
            [sys.executable, "-m", "smsdesk.cli", "web", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(web)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "smsdesk.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_ready(port, web)
        kannel = None
        if not args.no_kannel:
            from bench.smpp import start_kannel
            from tests.gateways.smsc import Smsc

            smsc = Smsc(work / "none", "--log", "")
            try:
                kannel = start_kannel(smsc, work)
            except FileNotFoundError:
                print("Kannel: not installed (apt-get install kannel); skipped")
                smsc.close()
        already = 0
        offset = 0
        warm = min(500, args.messages)
        run, _e2e = smsdesk_round(port, token, warm, offset, already, args.clients)  # warm-up
        already += len(run.latencies)
        offset += warm
        with kannel if kannel is not None else _nothing() as box:
            if box is not None:
                kannel_round(box[0], box[1], warm, args.clients)
            for round_ in range(args.rounds):
                order = ["smsdesk", "kannel"] if round_ % 2 == 0 else ["kannel", "smsdesk"]
                for who in order:
                    if who == "smsdesk":
                        run, e2e = smsdesk_round(
                            port, token, args.messages, offset, already, args.clients
                        )
                        already += len(run.latencies)
                        offset += args.messages
                        results.setdefault(label, []).append(report(label, run, e2e, args.messages))
                    elif box is not None:
                        run, e2e = kannel_round(box[0], box[1], args.messages, args.clients)
                        results.setdefault("Kannel 1.4.5 sendsms", []).append(
                            report("Kannel 1.4.5 sendsms", run, e2e, args.messages)
                        )
        if kannel is not None:
            smsc.close()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nmedian of {args.rounds} rounds; load {load_average()}")
    print("| server | submit /s | p50 ms | p99 ms | end-to-end /s |")
    print("| --- | --- | --- | --- | --- |")
    for name, lines in results.items():
        med = {k: statistics.median(line[k] for line in lines) for k in lines[0]}
        print(
            f"| {name} | {med['submit']:,.0f} | {med['p50']:.1f} | {med['p99']:.1f} | "
            f"{med['e2e']:,.0f} |"
        )


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
