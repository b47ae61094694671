"""Export benchmark: the Sent list of N messages (default 1,000,000) as CSV through the page's
Export button, streamed in constant memory (issue 20).

Seeds N outbound messages (the texts of a few hundred campaigns, 1 in 20 written as a formula,
numbers of which 1 in 4 is a contact), then requests `/sms/sent/export/` in-process (Django's
test client, production settings) and reads the streamed response chunk by chunk, as a
browser would, without keeping it. Prints the rows, the bytes, the time, and the process's
resident memory (RSS, /proc/self/statm) sampled while the export runs: at the first chunk,
at 10 %, 50 % and 100 % of the rows. Constant memory means the RSS at 100 % is the RSS at
10 %, whatever N: the rows are read by keyset chunks of `exports.CHUNK` (never the whole
result) and written in pieces of 64 KB. The same with `--rows 100000` gives the comparison.

    .venv/bin/python bench/export.py                       # SQLite, 1,000,000 rows
    .venv/bin/python bench/export.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_export

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import time

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="messages seeded and exported")
    _setup.add_database_option(parser)
    args = parser.parse_args()
    _setup.fresh_django(args.database_url)

    from datetime import timedelta

    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from smsdesk.accounts.models import User
    from smsdesk.core.bulk import insert_rows
    from smsdesk.directory.models import Contact
    from smsdesk.messaging.models import Campaign, GatewayState, Message

    rng = random.Random(20)
    gateway = GatewayState.objects.create(name="simulator", kind="simulator", connected=True)
    user = User.objects.create_user("bench", password="x", role="admin")
    now = timezone.now()
    t0 = time.perf_counter()
    numbers = [f"+336{n:08d}" for n in rng.sample(range(10_000_000, 99_999_999), 50_000)]
    Contact.objects.bulk_create(
        [Contact(name=f"Nom{i}", first_name="Élise", number=n) for i, n in enumerate(numbers[::4])],
        batch_size=2000,
    )
    campaigns = Campaign.objects.bulk_create(
        [
            Campaign(author=user, body=f"Campagne {i}", send_at=now, tag=rng.choice(["", "soldes"]))
            for i in range(300)
        ]
    )
    statuses = ["delivered"] * 8 + ["sent", "failed"]
    texts = [
        ('=HYPERLINK("http://x","clic") ' if i % 20 == 0 else "") + f"Bonjour, rendez-vous {i} à 9h"
        for i in range(300)
    ]
    prototype = Message(
        direction="out", status="delivered", gateway=gateway, author=user, body="", created_at=now
    )
    done = 0
    while done < args.rows:
        n = min(50_000, args.rows - done)
        rows = []
        for i in range(done, done + n):
            c = i % 300
            # as the ORM stores it (SQLite compares the text: "T" would sort apart)
            at = str(
                connection.ops.adapt_datetimefield_value(
                    now - timedelta(seconds=(args.rows - i) * 3)
                )
            )
            rows.append(
                (
                    rng.choice(numbers),
                    texts[c],
                    str(campaigns[c].pk),
                    rng.choice(statuses),
                    at,
                    at,
                    at,
                )
            )
        with transaction.atomic():
            insert_rows(
                Message,
                prototype,
                ["peer", "body", "campaign", "status", "created_at", "sent_at", "status_at"],
                rows,
            )
        done += n
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    seed_s = time.perf_counter() - t0
    print(f"database: {connection.vendor}; seeded {args.rows:,} messages in {seed_s:.0f} s")
    del rows, numbers
    gc.collect()

    client = Client()
    client.force_login(user)
    samples: dict[str, float] = {}
    before = rss_mb()
    t0 = time.perf_counter()
    response = client.get("/sms/sent/export/")
    size = lines = 0
    marks = {"10 %": args.rows // 10, "50 %": args.rows // 2}
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\r\n")
        if not samples:
            samples["first chunk"] = rss_mb()
        for name, at in list(marks.items()):
            if lines >= at:
                samples[name] = rss_mb()
                del marks[name]
    elapsed = time.perf_counter() - t0
    samples["100 %"] = rss_mb()
    rows_out = lines - 1  # the header
    print(
        f"exported {rows_out:,} rows, {size / 2**20:.0f} MB in {elapsed:.1f} s "
        f"({rows_out / elapsed:,.0f} rows/s)"
    )
    print(
        f"RSS before the request {before:.0f} MB; "
        + "; ".join(f"at {k} {v:.0f} MB" for k, v in samples.items())
        + f"; growth from 10 % to 100 %: {samples['100 %'] - samples['10 %']:+.1f} MB"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process {peak:.0f} MB")
    print(
        f"RESULT {connection.vendor} rows={rows_out} seconds={elapsed:.1f} "
        f"rss10={samples['10 %']:.0f} rss100={samples['100 %']:.0f}"
    )
    assert rows_out == args.rows, "every row exported once"


if __name__ == "__main__":
    main()
