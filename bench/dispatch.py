"""Dispatch benchmark: N queued messages handed by the worker to the simulator.

The simulator accepts at once and reports delivery at once; every state change
(queued -> sending -> sent -> delivered) is committed to the database. Prints messages per
second and the time to drain. Usage:

    .venv/bin/python bench/dispatch.py                                    # SQLite, 100,000
    .venv/bin/python bench/dispatch.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench
    .venv/bin/python bench/dispatch.py --kannel 11732   # also print the ratio to Kannel

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import os
import pstats
import re
import threading
import time
from datetime import datetime, timedelta

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000, help="messages queued")
    parser.add_argument("--batch-size", type=int, default=500, help="messages claimed at once")
    _setup.add_database_option(parser)
    parser.add_argument(
        "--stop-list",
        type=int,
        default=10_000,
        help="numbers on the STOP list (none of them a recipient): the worker checks each batch",
    )
    parser.add_argument(
        "--kannel",
        type=float,
        default=0.0,
        help="Kannel's end-to-end msg/s measured in this session, for the ratio",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="delivered messages written first, spread over the past year (the partitioned "
        "table's older months: issue 23)",
    )
    parser.add_argument(
        "--sql-profile",
        action="store_true",
        help="also print the time spent in each kind of SQL statement while draining",
    )
    args = parser.parse_args()

    url = _setup.fresh_django(args.database_url)
    from django.db import connection
    from django.utils import timezone

    from smsdesk.gateways.simulator import SimulatorGateway
    from smsdesk.messaging import lifecycle
    from smsdesk.messaging.models import GatewayState, Message
    from smsdesk.optout.models import OptOut
    from smsdesk.worker.loop import GatewayRunner

    gateway_row = GatewayState.objects.create(name="simulator", kind="simulator")
    OptOut.objects.bulk_create(
        (
            OptOut(number=f"+3370{i:07d}", source="sms", keyword="STOP")
            for i in range(args.stop_list)
        ),
        batch_size=2000,
    )
    now = timezone.now()
    if args.history:
        write_history(args.history, gateway_row, now)
    t0 = time.perf_counter()
    created = Message.objects.bulk_create(
        [
            Message(
                direction="out",
                status="queued",
                peer=f"+3361{i:07d}",
                gateway=gateway_row,
                body=f"Bench message {i}",
                created_at=now,
                due_at=now,
                status_at=now,
            )
            for i in range(args.messages)
        ],
        batch_size=2000,
    )
    lifecycle.enqueue(created)
    if connection.vendor == "postgresql" and not os.environ.get("BENCH_NO_ANALYZE"):
        # What autovacuum does within a minute of a bulk load: without statistics the
        # planner takes the 100,000-row queue for an empty table (bench/RESULTS.md).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    queue_s = time.perf_counter() - t0

    gateway = SimulatorGateway(delivery_delay=0, batch_size=args.batch_size)
    runner = GatewayRunner(gateway, "bench", threading.Event(), idle_sleep=0.01)
    gateway.start(runner.emit)
    profile = SqlProfile()
    if args.sql_profile:
        lifecycle.pg_bound = profile.wrap(lifecycle.pg_bound)  # bypasses Django's cursor
    python_profile = cProfile.Profile() if os.environ.get("BENCH_CPROFILE") else None
    t0 = time.perf_counter()
    with connection.execute_wrapper(profile) if args.sql_profile else contextlib.nullcontext():
        if python_profile:
            python_profile.enable()
        while runner.step():
            pass
        if python_profile:
            python_profile.disable()
    drain_s = time.perf_counter() - t0
    if python_profile:
        pstats.Stats(python_profile).sort_stats("tottime").print_stats(25)

    delivered = Message.objects.filter(status="delivered").count() - args.history
    handed = len(gateway.handed)
    assert delivered == handed == args.messages, (delivered, handed)
    rate = args.messages / drain_s
    engine = connection.vendor
    where = url.split("@")[-1] if engine != "sqlite" else "WAL, synchronous=FULL"
    print(f"database: {engine} ({where})")
    print(
        f"queued {args.messages:,} messages in {queue_s:.1f} s (not counted below); "
        f"{args.stop_list:,} numbers on the STOP list"
    )
    print(
        f"drained {args.messages:,} messages in {drain_s:.2f} s: {rate:,.0f} msg/s "
        f"(batch {args.batch_size}, every state change committed)"
    )
    if args.kannel:
        print(f"ratio to Kannel ({args.kannel:,.0f} msg/s, same session): {rate / args.kannel:.2f}")
    print(f"RESULT {engine} {args.messages} {drain_s:.3f} {rate:.0f}")
    if args.sql_profile:
        profile.print(args.messages)


def write_history(n: int, gateway_row: object, now: datetime) -> None:
    """`n` delivered messages, one every (a year / n) back from now: on a table partitioned by
    month (`smsdesk messages partition --by-month` run first on the database), each month's
    partition is made first; one table (the default, or code before issue 23): nothing."""
    from smsdesk.messaging.models import Message

    start = now - timedelta(days=365)
    try:
        from smsdesk.messaging import partitions  # type: ignore[attr-defined]
    except ImportError:  # one table
        partitions = None
    if partitions is not None:
        partitions.ensure(since=start)
    step = timedelta(days=365) / n
    t0 = time.perf_counter()
    for first in range(0, n, 10_000):
        Message.objects.bulk_create(
            [
                Message(
                    direction="out",
                    status="delivered",
                    peer=f"+3362{i % 100_000:07d}",
                    gateway=gateway_row,
                    body=f"History {i}",
                    created_at=start + i * step,
                    status_at=start + i * step,
                )
                for i in range(first, min(n, first + 10_000))
            ]
        )
    print(f"history: {n:,} delivered messages over a year in {time.perf_counter() - t0:.1f} s")


class SqlProfile:
    """Time spent in each kind of statement (the SQL text up to its first values)."""

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = self.stats[re.sub(r"\s+", " ", sql)[:120]]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    def wrap(self, function):  # type: ignore[no-untyped-def]
        def timed(sql, params):  # type: ignore[no-untyped-def]
            return self(lambda *_a: function(sql, params), sql, params, False, None)

        return timed

    def print(self, messages: int) -> None:
        total = sum(t for _n, t in self.stats.values())
        print(f"SQL: {total:.2f} s in {sum(n for n, _t in self.stats.values()):.0f} statements")
        for sql, (n, t) in sorted(self.stats.items(), key=lambda kv: -kv[1][1])[:12]:
            print(f"  {t:6.2f} s {n:5.0f}x {1e6 * t / messages:5.1f} us/msg  {sql}")


if __name__ == "__main__":
    main()
