"""Issue 19's ceiling ladder: where the single-message send's 1,000 a second is lost.

The same 8 keep-alive clients as bench/api.py (its raw-socket client), the same granian
(2 processes x 4 threads, WSGI) against, rung by rung:

    a  bare     a WSGI function answering 201 JSON: granian's own ceiling with this client
    b  view     a Django view answering 201 JSON through smsdesk's handler (the API's
                middleware chain for a bearer request, core/handler.py)
    c  insert   b + the token's check (its row, its rate counted, its scope) + one INSERT
                committed (a table of the bench's own; SQLite synchronous=FULL, PostgreSQL
                synchronous_commit on)
    d  send     the full `POST /api/v1/messages` (`smsdesk web`), the worker stopped
    w  worker   `smsdesk worker` alone, draining the N messages d left queued (claim, hand
                over to the simulator, report delivered)
    e  send+w   the full send with the worker running and delivering (bench/api.py's case)

For each: requests a second, p50/p99, and the CPU each took a request, per process group
(read from /proc: the web processes, the worker, PostgreSQL's backends of this database,
the client), so that the 2 cores' budget per message shows. Rounds alternate the rungs.

    .venv/bin/python bench/ingest_ladder.py [--messages 5000] [--rounds 2]
    .venv/bin/python bench/ingest_ladder.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_ingest_ladder
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _setup
from api import (
    Run,
    api_request,
    delivered_count,
    drive,
    free_port,
    load_average,
    prepare,
    wait_ready,
)

ROOT = _setup.ROOT
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def tree(pid: int) -> list[int]:
    """pid and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def backends(url: str) -> list[int]:
    if not url.startswith("postgres"):
        return []
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(url.rpartition("/")[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]
        ).fetchall()
    return [r[0] for r in rows]


def start(cmd: list[str], env: dict[str, str], log: object) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # type: ignore[arg-type]


def stop(p: subprocess.Popen) -> None:
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def granian(
    rung: str, port: int, env: dict[str, str], args: argparse.Namespace, log: object
) -> subprocess.Popen:
    code = (
        "from granian import Granian; from granian.constants import Interfaces; "
        f"Granian('bench._ladder_app:application', address='127.0.0.1', port={port}, "
        f"interface=Interfaces.WSGI, workers={args.workers}, blocking_threads={args.threads}, "
        "log_access=False).serve()"
    )
    env = {
        **env,
        "LADDER_RUNG": rung,
        "PYTHONPATH": str(ROOT),
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="smsdesk-ladder-prom-"),
    }
    return start([sys.executable, "-c", code], env, log)


class Measure:
    def __init__(self, url: str, groups: dict[str, list[int]]) -> None:
        self.url = url
        self.groups = groups

    def __enter__(self) -> Measure:
        self.groups["postgres"] = backends(self.url)
        self.before = {k: cpu_seconds(v) for k, v in self.groups.items()}
        self.client0 = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        # a backend that connected during the measure (the worker's): all its CPU counts
        new = [p for p in backends(self.url) if p not in self.groups["postgres"]]
        self.groups["postgres"] = self.groups["postgres"] + new
        self.cpu = {k: cpu_seconds(v) - self.before[k] for k, v in self.groups.items()}
        self.cpu["client"] = time.process_time() - self.client0


def line(
    name: str, n: int, seconds: float, run: Run | None, cpu: dict[str, float]
) -> dict[str, float]:
    per = {k: v / n * 1000 for k, v in cpu.items() if v}
    total = sum(per.values())
    out = {"rate": n / seconds, "cpu": total, **{f"cpu_{k}": v for k, v in per.items()}}
    if run is not None:
        out["p50"], out["p99"] = run.pct(0.5), run.pct(0.99)
    parts = "  ".join(f"{k} {v:.2f}" for k, v in per.items())
    lat = f"p50 {out['p50']:6.1f} p99 {out['p99']:7.1f} ms  " if run is not None else " " * 30
    err = f"errors {run.errors} " if run is not None else ""
    print(
        f"{name:<9} {n / seconds:7,.0f}/s  {lat}CPU ms/msg {total:5.2f} ({parts})  {err}"
        f"load {load_average()}"
        + (f"\n    first error: {run.first_error}" if run is not None and run.first_error else ""),
        flush=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000, help="per rung and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="granian's")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--api-rate", type=int, default=1_000_000)
    parser.add_argument("--rungs", default="bare,view,insert,send", help="send = d, w, e")
    parser.add_argument("--group-commit", choices=["true", "false"], default="")
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="an experiment: d, w and e with psycopg's server-side binding and prepared "
        "statements (bench/_ladder_settings.py)",
    )
    _setup.add_database_option(parser)
    args = parser.parse_args()
    token, env = prepare(args)
    url = env["SMSDESK_DATABASE_URL"]
    if args.prepared:
        env = {
            **env,
            "LADDER_PREPARED": "1",
            "DJANGO_SETTINGS_MODULE": "bench._ladder_settings",
            "PYTHONPATH": str(ROOT),
        }
    from django.db import connection

    with connection.cursor() as cursor:
        kind = "bigserial" if connection.vendor == "postgresql" else "INTEGER"
        extra = "" if connection.vendor == "postgresql" else " AUTOINCREMENT"
        cursor.execute(
            f"CREATE TABLE bench_ladder (id {kind} PRIMARY KEY{extra}, peer text, body text)"
        )
    connection.close()
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"{engine}: granian {args.workers} x {args.threads}, {args.clients} clients, "
        f"{args.messages:,} a rung; load {load_average()}",
        flush=True,
    )
    log = open(Path(env["SMSDESK_DATA_DIR"]) / "servers.log", "ab")  # noqa: SIM115
    results: dict[str, list[dict[str, float]]] = {}
    offset = 0
    already = 0
    n = args.messages
    rungs = args.rungs.split(",")
    for round_ in range(args.rounds):
        order = rungs if round_ % 2 == 0 else rungs[::-1]
        for rung in order:
            port = free_port()
            if rung in ("bare", "view", "insert"):
                server = granian(rung, port, env, args, log)
                try:
                    wait_ready(port, server, any_answer=True)
                    path = {
                        "bare": b"/x",
                        "view": b"/api/ladder/view",
                        "insert": b"/api/ladder/insert",
                    }[rung]
                    base = api_request(token, offset)

                    def request(i: int, base=base, path=path) -> bytes:  # type: ignore[no-untyped-def]
                        return base(i).replace(b"/api/v1/messages", path, 1)

                    drive(port, 200, request, b"201", clients=args.clients)  # warm-up
                    with Measure(url, {"web": tree(server.pid)}) as m:
                        t0 = time.perf_counter()
                        run = drive(port, n, request, b"201", clients=args.clients)
                        took = time.perf_counter() - t0
                    offset += n + 200
                    results.setdefault(rung, []).append(line(rung, n, took, run, m.cpu))
                finally:
                    stop(server)
                continue
            # d, w, e on `smsdesk web` (the production set-up) and `smsdesk worker`
            web = start([sys.executable, "-m", "smsdesk.cli", "web", "--port", str(port)], env, log)
            worker = None
            try:
                wait_ready(port, web, any_answer=True)
                drive(port, 200, api_request(token, offset), b"201", clients=args.clients)
                offset += 200
                already += 200
                with Measure(url, {"web": tree(web.pid)}) as m:
                    t0 = time.perf_counter()
                    run = drive(port, n, api_request(token, offset), b"201", clients=args.clients)
                    took = time.perf_counter() - t0
                offset += n
                results.setdefault("send", []).append(line("send", n, took, run, m.cpu))
                queued = already + len(run.latencies)
                # w: the worker alone, draining what is queued (the warm-up's too)
                worker = start([sys.executable, "-m", "smsdesk.cli", "worker"], env, log)
                time.sleep(0.5)  # its start-up (Django, the gateways) not counted
                with Measure(url, {"worker": tree(worker.pid)}) as m:
                    t0 = time.perf_counter()
                    while delivered_count() < queued:
                        time.sleep(0.02)
                    took = time.perf_counter() - t0
                results.setdefault("worker", []).append(
                    line("worker", queued - already + 200, took, None, m.cpu)
                )
                already = queued
                # e: the send with the worker delivering, to delivered
                with Measure(url, {"web": tree(web.pid), "worker": tree(worker.pid)}) as m:
                    t0 = time.perf_counter()
                    run = drive(port, n, api_request(token, offset), b"201", clients=args.clients)
                    submit = time.perf_counter() - t0
                    queued = already + len(run.latencies)
                    while delivered_count() < queued:
                        time.sleep(0.05)
                    took = time.perf_counter() - t0
                offset += n
                already = queued
                out = line("send+w", n, submit, run, m.cpu)
                out["e2e"] = n / took
                print(f"          end-to-end {n / took:,.0f}/s", flush=True)
                results.setdefault("send+w", []).append(out)
            finally:
                if worker is not None:
                    stop(worker)
                stop(web)
    print(f"\nmedians of {args.rounds} rounds, {engine}; load {load_average()}")
    keys = ["web", "worker", "postgres", "client"]
    print("| rung | /s | p50 ms | p99 ms | CPU ms a message: " + " / ".join(keys) + " | total |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, lines in results.items():
        med = {k: statistics.median(x.get(k, 0.0) for x in lines) for k in lines[0]}
        cpu = " / ".join(f"{med.get('cpu_' + k, 0.0):.2f}" for k in keys)
        extra = f" (end-to-end {med['e2e']:,.0f}/s)" if "e2e" in med else ""
        print(
            f"| {name} | {med['rate']:,.0f}{extra} | {med.get('p50', float('nan')):.1f} | "
            f"{med.get('p99', float('nan')):.1f} | {cpu} | {med['cpu']:.2f} |"
        )


if __name__ == "__main__":
    main()
