"""SMPP benchmark: N messages queued -> delivered receipts recorded, through real worker
processes bound over SMPP to the local SMSC (tests/gateways/smpp_server.py, a separate
process), with 1 and then 2 workers; and, in the same run, Kannel's bearerbox + smsbox bound
over SMPP to the same SMSC, fed N messages through its HTTP sendsms interface, each with a
delivery report (dlr-mask 1) posted back to a local HTTP counter.

    .venv/bin/python bench/smpp.py                                   # SQLite, 100,000
    .venv/bin/python bench/smpp.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench
    .venv/bin/python bench/smpp.py --no-kannel --messages 20000

smsdesk's figure: from the moment the workers start (Django start-up included) until the
database holds N messages `delivered` (each receipt matched to its part and committed).
Kannel's: from the first HTTP sendsms until smsbox has called the dlr-url of the N-th
receipt. Both lines use the same SMSC, the same window (max-pending-submits) and the same
number of binds per process. On PostgreSQL the database named in the URL is dropped and
created again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)

from tests.gateways.smsc import Smsc


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=100, help="submit_sm in flight per bind")
    parser.add_argument("--binds", type=int, default=2, help="binds per worker (and Kannel)")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, in order")
    parser.add_argument(
        "--layout",
        choices=("lines", "binds"),
        default="lines",
        help="lines: each bind a line of its own (op-1, op-2, ...: docs/scaling.md), the "
        "messages spread over them, each line driven by one worker (its lease); binds: one "
        "line 'op' with --binds binds, driven by one worker at a time",
    )
    parser.add_argument(
        "--lease-seconds",
        type=int,
        default=6,
        help="SMSDESK_LINE_LEASE_SECONDS of the workers: a second worker gets its share of "
        "the lines at the first renewal (a quarter of it)",
    )
    parser.add_argument(
        "--lanes",
        action="store_true",
        help="lanes=on: one worker thread per bind of a line (docs/gateways.md)",
    )
    parser.add_argument("--no-kannel", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run one worker's gateway loop in this process under cProfile (no Kannel)",
    )
    _setup.add_database_option(parser)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="smsdesk-bench-smpp-"))
    smsc = Smsc(work / "none", "--log", "")  # the last --log wins: no log, full speed
    print(
        f"SMSC: tests/gateways/smpp_server.py on 127.0.0.1:{smsc.port}; "
        f"window {args.window}, {args.binds} binds per process; N = {args.messages:,}"
    )
    try:
        if not args.no_kannel and not args.profile:
            kannel(smsc, args, work)
        url = _setup.fresh_django(args.database_url)
        if args.profile:
            profiled(smsc, args)
            return
        for workers in [int(w) for w in args.workers.split(",")]:
            smsdesk(smsc, args, workers, url)
    finally:
        smsc.close()
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


# --- smsdesk ------------------------------------------------------------------------------


def line_names(args: argparse.Namespace) -> list[str]:
    if args.layout == "binds":
        return ["op"]
    return [f"op-{i + 1}" for i in range(args.binds)]


def queue_messages(count: int, lines: list[str] | None = None) -> None:
    from django.db import connection
    from django.utils import timezone

    from smsdesk.messaging import lifecycle
    from smsdesk.messaging.models import GatewayState, Message

    rows = [
        GatewayState.objects.get_or_create(name=name, defaults={"kind": "smpp"})[0]
        for name in (lines or ["op"])
    ]
    Message.objects.all().delete()
    now = timezone.now()
    created = Message.objects.bulk_create(
        (
            Message(
                direction="out",
                status="queued",
                peer=f"+3361{i:07d}",
                gateway=rows[i % len(rows)],
                body=f"Bench message {i}",
                created_at=now,
                due_at=now,
                status_at=now,
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    lifecycle.enqueue(created)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def smsdesk(smsc: Smsc, args: argparse.Namespace, workers: int, url: str) -> None:
    from django.db import connection

    from smsdesk.messaging.models import Message
    from smsdesk.worker.models import LineLease

    lines = line_names(args)
    queue_messages(args.messages, lines)
    LineLease.objects.all().delete()
    before = smsc.stats()
    binds = args.binds if args.layout == "binds" else 1
    lanes = "&lanes=on" if args.lanes else ""
    spec = " ".join(
        f"{name}={smsc.url(f'window={args.window}&binds={binds}{lanes}')}" for name in lines
    )
    env = dict(
        os.environ,
        SMSDESK_GATEWAYS=spec,
        SMSDESK_LINE_LEASE_SECONDS=str(args.lease_seconds),
        SMSDESK_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="smsdesk.settings",
    )
    log = open(Path(os.environ["SMSDESK_DATA_DIR"]) / "worker.log", "ab")  # noqa: SIM115
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "smsdesk.cli", "worker"],
            cwd=_setup.ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            delivered = Message.objects.filter(status="delivered").count()
            if delivered >= args.messages:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker stopped: see {log.name}")
            time.sleep(0.2)
        elapsed = time.perf_counter() - t0
        drivers = sorted(LineLease.objects.values_list("line", "pid"))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    after = smsc.stats()
    rate = args.messages / elapsed
    engine = connection.vendor
    took = after["received"] - before["received"]
    layout = (
        f"{len(lines)} lines of 1 bind" if args.layout == "lines" else f"1 line of {binds} binds"
    )
    print(
        f"smsdesk {engine}, {workers} worker(s): {args.messages:,} queued -> delivered "
        f"recorded in {elapsed:.2f} s = {rate:,.0f} msg/s (window {args.window} per bind, "
        f"{layout}; SMSC took {took:,} submit_sm; load average {os.getloadavg()[0]:.1f})"
    )
    print(f"  lines driven by (line, worker pid): {drivers}")
    if took != args.messages:  # every message is one part: one submit_sm each, never two
        print(f"!! the SMSC took {took:,} submit_sm for {args.messages:,} messages")
    print(f"RESULT smsdesk {engine} workers={workers} {elapsed:.3f} {rate:.0f}", flush=True)
    connection.close()


def profiled(smsc: Smsc, args: argparse.Namespace) -> None:
    """The worker's loop for one line (of --binds binds: one thread per bind, as the worker
    runs them), in this process, under cProfile (each lane's thread profiled, the figures
    added up): where the time goes."""
    import cProfile
    import pstats

    from django.db import connection

    from smsdesk.gateways import registry
    from smsdesk.messaging.models import Message
    from smsdesk.worker.loop import GatewayRunner, Line

    queue_messages(args.messages)
    lanes_on = "&lanes=on" if args.lanes else ""
    spec = registry.parse_spec(
        f"op={smsc.url(f'window={args.window}&binds={args.binds}{lanes_on}')}"
    )
    lanes = registry.build(spec).lanes()
    line = Line("op") if len(lanes) > 1 else None
    stopping = threading.Event()
    runners = [GatewayRunner(lane, "bench", stopping, idle_sleep=0.01, line=line) for lane in lanes]
    profiles = [cProfile.Profile() for _ in runners]

    def drive(runner: GatewayRunner, profile: cProfile.Profile) -> None:
        profile.enable()
        while not stopping.is_set():
            if not runner.run_once():
                stopping.wait(0.01)
        profile.disable()
        runner.gateway.stop()
        connection.close()

    threads = [
        threading.Thread(target=drive, args=(r, p)) for r, p in zip(runners, profiles, strict=True)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    while Message.objects.filter(status="delivered").count() < args.messages:
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    stopping.set()
    for t in threads:
        t.join()
    print(f"in-process, profiled, {len(runners)} lane(s): {args.messages / elapsed:,.0f} msg/s")
    stats = pstats.Stats(profiles[0])
    for p in profiles[1:]:
        stats.add(p)
    if os.environ.get("PROFILE_OUT"):
        stats.dump_stats(os.environ["PROFILE_OUT"])
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)


# --- Kannel ------------------------------------------------------------------------------


def free_ports(k: int) -> list[int]:
    socks = [socket.socket() for _ in range(k)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class DlrCounter:
    """A minimal HTTP/1.1 server in its own thread: counts the dlr-url calls of smsbox."""

    def __init__(self) -> None:
        self.count = 0
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self._serve(ready)), daemon=True).start()
        ready.wait(10)

    async def _serve(self, ready: threading.Event) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    if not head:
                        break
                    self.count += 1
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        await asyncio.Event().wait()


def kannel(smsc: Smsc, args: argparse.Namespace, work: Path) -> None:
    try:
        running = start_kannel(smsc, work, window=args.window, binds=args.binds)
    except FileNotFoundError:
        print("Kannel: not installed (apt-get install kannel); skipped")
        return
    with running as (smsp, dlr):
        dlr_url = f"http://127.0.0.1:{dlr.port}/dlr?id=%25d"
        before = smsc.stats()
        t0 = time.perf_counter()
        errors = submit(smsp, args.messages, dlr_url)
        submitted = time.perf_counter() - t0
        deadline = time.monotonic() + 600
        while dlr.count < args.messages and time.monotonic() < deadline:
            time.sleep(0.05)
            if os.environ.get("KEEP"):
                print("kannel:", errors, dlr.count, smsc.stats(), flush=True)
                time.sleep(1)
        elapsed = time.perf_counter() - t0
        after = smsc.stats()
        rate = args.messages / elapsed
        print(
            f"Kannel 1.4.5 (bearerbox + smsbox): {args.messages:,} sendsms -> {dlr.count:,} "
            f"delivery reports called back in {elapsed:.2f} s = {rate:,.0f} msg/s (submit "
            f"phase {args.messages / submitted:,.0f} msg/s, {errors} HTTP errors; SMSC took "
            f"{after['received'] - before['received']:,}; max-pending-submits {args.window}, "
            f"{args.binds} binds; load average {os.getloadavg()[0]:.1f})"
        )
        print(f"RESULT kannel {elapsed:.3f} {rate:.0f}", flush=True)


@contextlib.contextmanager
def _kannel(smsc: Smsc, work: Path, *, window: int, binds: int) -> Iterator[tuple[int, DlrCounter]]:
    bearerbox, smsbox = shutil.which("bearerbox") or "/usr/sbin/bearerbox", "/usr/sbin/smsbox"
    admin, boxp, smsp = free_ports(3)
    dlr = DlrCounter()
    smsc_groups = "".join(
        f"""
group = smsc
smsc = smpp
smsc-id = op
host = 127.0.0.1
port = {smsc.port}
transceiver-mode = true
smsc-username = smsdesk
smsc-password = secret
system-type = ""
max-pending-submits = {window}
enquire-link-interval = 30
msg-id-type = 0x00
"""
        for _ in range(binds)
    )
    conf = work / "kannel.conf"
    conf.write_text(f"""group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = {boxp}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
box-deny-ip = "*.*.*.*"
log-file = "{work}/bearerbox.log"
log-level = 2
dlr-storage = internal
{smsc_groups}
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {boxp}
sendsms-port = {smsp}
sendsms-interface = 127.0.0.1
log-file = "{work}/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench
user-allow-ip = "127.0.0.1"
max-messages = 1

group = sms-service
keyword = default
text = "nop"
""")
    procs = [
        subprocess.Popen(
            [bearerbox, "-v", "4", str(conf)],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 30
        while smsc.stats()["binds"] < binds:
            if time.monotonic() > deadline:
                raise SystemExit("Kannel did not bind to the SMSC")
            time.sleep(0.1)
        procs.append(
            subprocess.Popen(
                [smsbox, "-v", "4", str(conf)],
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        while True:
            try:
                socket.create_connection(("127.0.0.1", smsp), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("smsbox did not open its sendsms port") from None
                time.sleep(0.1)
        yield smsp, dlr
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def start_kannel(
    smsc: Smsc, work: Path, *, window: int = 100, binds: int = 2
) -> contextlib.AbstractContextManager[tuple[int, DlrCounter]]:
    """Kannel's bearerbox bound over SMPP to `smsc` (`binds` binds, `window` submits in
    flight each), and smsbox with its HTTP sendsms port: yields (sendsms port, the counter of
    the delivery reports smsbox calls back). FileNotFoundError when Kannel is not installed."""
    bearerbox = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
    if not (os.path.exists(bearerbox) and os.path.exists("/usr/sbin/smsbox")):
        raise FileNotFoundError("bearerbox")
    return _kannel(smsc, work, window=window, binds=binds)


def submit(port: int, n: int, dlr_url: str, threads: int = 8) -> int:
    """N GET /cgi-bin/sendsms over 8 keep-alive connections (the raw-socket client of
    ../shared/peers/kannel.sh, in short). Returns the number of errors."""
    from urllib.parse import quote

    counter = iter(range(n))
    lock = threading.Lock()
    errors = [0]

    def one() -> None:
        s = socket.create_connection(("127.0.0.1", port))
        buf = b""
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path = (
                f"/cgi-bin/sendsms?username=bench&password=bench&to=3361{i:07d}"
                f"&from=MYSHOP&text=Bench+message+{i}&dlr-mask=1&dlr-url={quote(dlr_url, safe='')}"
            )
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:  # smsbox went away (it crashed once at start-up)
                    raise SystemExit("Kannel's smsbox closed the connection: see smsbox.log")
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(buf) < length:
                buf += s.recv(65536)
            body, buf = buf[:length], buf[length:]
            if not head.startswith(b"HTTP/1.1 202") and not head.startswith(b"HTTP/1.0 202"):
                errors[0] += 1
                if errors[0] == 1:
                    print("Kannel answered:", head[:80], body[:80])
            del body
        s.close()

    pool = [threading.Thread(target=one) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors[0]


if __name__ == "__main__":
    main()
