"""Keyset paging benchmark: a deep page of the Sent list reads one page of an index.

Seeds N messages (default 200,000, half sent, half received, over 20,000 correspondents, one
every 10 s) with a bulk insert, then prints for the Sent list, by date and by number:
- the server time (Django's test client, median of 7) and the queries of the first page and
  of a page half-way down (reached by its cursor, as the "Next" links do);
- the plan of the deep page's query (EXPLAIN QUERY PLAN on SQLite; EXPLAIN ANALYZE on
  PostgreSQL, whose "actual rows" say how many index entries were read);
- for comparison, the old way to the same rows: OFFSET half-way, timed alone.

Usage:

    .venv/bin/python bench/keyset.py                          # SQLite
    .venv/bin/python bench/keyset.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_keyset

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)

PEERS = 20_000
PER_PAGE = 25


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000, help="messages seeded")
    _setup.add_database_option(parser)
    args = parser.parse_args()

    _setup.fresh_django(args.database_url)
    from django.db import connection

    from smsdesk.core.bulk import insert_rows
    from smsdesk.messaging.models import Message

    n = args.messages
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def stamp(i: int) -> str:
        moment = start + timedelta(seconds=10 * i)
        if connection.vendor == "postgresql":
            return moment.isoformat()
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # as Django stores it on SQLite

    began = time.perf_counter()
    template = Message(direction="out", status="delivered", peer="", body="", created_at=start)
    chunk = 50_000
    for low in range(0, n, chunk):
        insert_rows(
            Message,
            template,
            ["direction", "status", "peer", "body", "created_at"],
            [
                (
                    "out" if i % 2 else "in",
                    "delivered" if i % 2 else "read",
                    f"+336{i % PEERS:08d}",
                    f"Message numéro {i}",
                    stamp(i),
                )
                for i in range(low, min(n, low + chunk))
            ],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{connection.vendor}, {n:,} messages seeded in {time.perf_counter() - began:.1f} s")
    print("(timings on a shared, loaded machine: compare the rows, not the absolute figures)")

    for sort in ("-date", "number"):
        report(sort, n)


def report(sort: str, n: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from smsdesk.accounts.models import User
    from smsdesk.core.lists import Order, encode_cursor
    from smsdesk.messaging.models import Message

    user = User.objects.filter(username="bench").first() or User.objects.create_user(
        "bench", password="x", role=User.Role.ADMIN
    )
    client = Client()
    client.force_login(user)
    fields = ("created_at", "id") if sort == "-date" else ("peer", "created_at", "id")
    order = Order(sort, fields, descending=sort.startswith("-"))
    ordering = [f"-{f}" if order.descending else f for f in fields]
    sent = Message.objects.filter(direction="out").order_by(*ordering)
    half = n // 4  # half-way down the sent ones
    edge = sent.values_list(*fields)[half - 1 : half][0]
    token = encode_cursor(order, list(edge))

    print(f"\nSent, sort={sort}")
    for label, params in [
        ("first page", {"sort": sort}),
        (f"deep page (row {half:,}, by cursor)", {"sort": sort, "after": token}),
    ]:
        runs = []
        for _ in range(7):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get("/sms/sent/", params)
                runs.append(time.perf_counter() - began)
            assert response.status_code == 200
        print(f"  {label:<40} {statistics.median(runs) * 1000:7.1f} ms  {len(queries)} queries")
    rows_sql = next(
        q["sql"] for q in queries if "messaging_message" in q["sql"] and "LIMIT 26" in q["sql"]
    )
    assert "OFFSET" not in rows_sql.upper()
    explain(rows_sql)

    runs = []
    for _ in range(7):
        began = time.perf_counter()
        list(sent.values_list("id", flat=True)[half : half + PER_PAGE])
        runs.append(time.perf_counter() - began)
    print(f"  old way: OFFSET {half:,} (ids only)       {statistics.median(runs) * 1000:7.1f} ms")


def explain(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = [" | ".join(str(c) for c in row) for row in cursor.fetchall()]
    print("  plan of the deep page's rows query (the message table's part):")
    keep = ("messaging_message", "Index Cond", "Rows Removed by Filter", "Execution Time")
    for number, line in enumerate(plan):
        if number == 0 or any(word in line for word in keep):
            print(f"    {line.strip()}")


if __name__ == "__main__":
    main()
