"""Routing benchmark (issue 18): what choosing each recipient's line costs a large send, and
what the worker's routing pass costs.

On a fresh database with N conversations, a tenth of them having written to line "free":
- `create_campaign` to N numbers with one line configured (no routing to do), then with two
  lines (each recipient's last line read from the conversations, 1,000 numbers a query; the
  messages then carry their own line);
- the same send with `from` given (one line for all: nothing read per recipient);
- `routing.route` alone (the lookup the two-line send adds), then the one-line send again
  (each send makes the message table larger: compare neighbours);
- one failover pass of the worker (`routing.fail_over`, two lines, one with limits), median
  of 20, after the sends;
- `routing.line_state` (what the worker asks before each claim), median of 200, for a line
  without limits and one with day and hour limits;
- the watch's window (`sms.routing.Window`, in the worker's memory): adding a batch of 500
  results and judging them, median of 200.

Usage:

    .venv/bin/python bench/routing.py                     # SQLite, 100,000 recipients
    .venv/bin/python bench/routing.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_routing

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)

ONE = ["orange=simulator?delivery_delay=0"]
TWO = [
    "orange=simulator?priority=5&delivery_delay=0&limit_day=1000000&limit_hour=100000",
    "free=simulator?priority=1&delivery_delay=0",
]


def timed(label: str, func):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func()
    print(f"{label:<60} {time.perf_counter() - start:8.3f} s", flush=True)
    return result


def median_ms(func, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=100_000)
    _setup.add_database_option(parser)
    args = parser.parse_args()
    _setup.fresh_django(args.database_url, SMSDESK_MAX_RECIPIENTS=str(args.recipients))
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from smsdesk.core.bulk import insert_rows
    from smsdesk.messaging import gateway_state, routing, sending
    from smsdesk.messaging.models import Conversation, Message

    n = args.recipients
    numbers = [f"+3361{i:07d}" for i in range(n)]
    now = timezone.now()
    insert_rows(
        Conversation,
        Conversation(last_at=now, last_body="", last_direction="in"),
        ["peer", "line"],
        [(p, "free" if i % 10 == 0 else "") for i, p in enumerate(numbers)],
    )
    print(f"{connection.vendor}, {n:,} recipients, {n // 10:,} of them wrote to line free")
    print(f"load average: {os.getloadavg()}")

    def send(**kw):  # type: ignore[no-untyped-def]
        return sending.create_campaign(author=None, body="Bonjour", to=numbers, **kw)

    settings.SMSDESK_GATEWAYS = ONE
    gateway_state.ensure("orange", "simulator")
    timed("create_campaign, one line (no routing)", send)
    settings.SMSDESK_GATEWAYS = TWO
    gateway_state.ensure("free", "simulator")
    timed("create_campaign, two lines (each recipient's line)", send)
    timed("create_campaign, two lines, from=orange", lambda: send(gateway="orange"))
    timed("routing.route alone: each recipient's line, two lines", lambda: routing.route(numbers))
    timed(
        "create_campaign, one line again (the table is larger now)",
        lambda: (
            setattr(settings, "SMSDESK_GATEWAYS", ONE),
            send(),
            setattr(settings, "SMSDESK_GATEWAYS", TWO),
        ),
    )
    by_line = dict(
        Message.objects.filter(direction="out")
        .values_list("gateway_id")
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
    )
    print(f"messages per line: {by_line}")
    print(
        f"{'failover pass of the worker (fail_over), median of 20':<60} "
        f"{median_ms(routing.fail_over, 20):8.2f} ms"
    )
    print(
        f"{'line_state, a line with limits (day, hour), median of 200':<60} "
        f"{median_ms(lambda: routing.line_state('orange'), 200):8.2f} ms"
    )
    print(
        f"{'line_state, a line without limits, median of 200':<60} "
        f"{median_ms(lambda: routing.line_state('free'), 200):8.2f} ms"
    )
    from smsdesk.sms.routing import Thresholds, Window, judge

    window = Window(50)
    counter = iter(range(10**9))

    def batch() -> None:
        for _ in range(500):
            window.add(next(counter), "ok", refs=("r",), at=0.0)
        judge(window.health(), Thresholds())

    print(
        f"{'watch window: 500 results added and judged, median of 200':<60} "
        f"{median_ms(batch, 200):8.2f} ms"
    )


if __name__ == "__main__":
    main()
