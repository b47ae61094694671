"""Home page benchmark: its server time with many messages, counted from the maintained
counters (messaging/stats.py) instead of a scan.

Seeds N messages over 30 days (a quick generator: outbound sent / delivered / failed and
inbound; not the documented million of bench/million.py), fills the counters from them
with the backfill of migration 0009 (as an upgraded installation would), then renders "/"
in-process and prints the median and worst of 20 and the number of queries. Usage:

    .venv/bin/python bench/home.py --messages 200000
    .venv/bin/python bench/home.py --messages 200000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_home_bench

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000, help="messages seeded")
    _setup.add_database_option(parser)
    parser.add_argument("--runs", type=int, default=20, help="times each page is read")
    args = parser.parse_args()

    _setup.fresh_django(args.database_url)
    from datetime import timedelta
    from importlib import import_module

    from django.apps import apps
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from smsdesk.accounts.models import User
    from smsdesk.messaging.models import GatewayState, Message

    gateway = GatewayState.objects.create(name="simulator", kind="simulator", connected=True)
    now = timezone.now()
    t0 = time.perf_counter()
    batch: list[Message] = []
    for i in range(args.messages):
        at = now - timedelta(minutes=(i * 7919) % (30 * 24 * 60))
        inbound = i % 5 == 0
        status = "unread" if inbound else ("delivered", "delivered", "failed", "sent")[i % 4]
        batch.append(
            Message(
                direction="in" if inbound else "out",
                status=status,
                peer=f"+3361{i % 20000:07d}",
                gateway=gateway,
                body=f"Bench message {i}",
                created_at=at,
                sent_at=None if inbound else at,
                status_at=at + timedelta(seconds=5),
            )
        )
        if len(batch) == 5000:
            Message.objects.bulk_create(batch)
            batch = []
    Message.objects.bulk_create(batch)
    seed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    migration = import_module("smsdesk.messaging.migrations.0013_counts_per_tag_user")
    migration.backfill(apps, SimpleNamespace(connection=connection))
    backfill_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"database: {connection.vendor}")
    print(f"seeded {args.messages:,} messages in {seed_s:.1f} s; backfill {backfill_s:.2f} s")

    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's
    user = User.objects.create_user("bench", password="bench bench 42", role=User.Role.ADMIN)
    client = Client()
    client.force_login(user)
    client.get("/")  # warm: templates, translations
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        response = client.get("/")
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    print(
        f"home: median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms, "
        f"{len(queries)} queries taking {sql_ms:.1f} ms in the last run ({args.runs} runs)"
    )


if __name__ == "__main__":
    main()
