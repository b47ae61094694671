"""Names found without accents (issue 21): the folded `search_name` against the accent-bound
search it replaced, alternated in one run, at N contacts (default 100,000).

Seeds N contacts with the French first names and surnames of bench/million.py (through the
import, so `search_name` is written as in production), then, for each search typed without
accents ("helene", "jerome", "zoe", "hel", "helene durand", "lefevre"), times:
- `new`: directory.services.contact_list(q), what Contacts, the pickers and the API's q= run
  (one LIKE on the folded column; PostgreSQL: the trigram index contact_search_trgm);
- `old`: what ran before, `name ILIKE %q% OR first_name ILIKE %q%` (accents counting, so it
  finds less: its count is printed beside);
and the server time of the Contacts page and the New SMS type-ahead through Django's test
client. Prints medians of 15 runs after 2 warm-ups, in ms, and PostgreSQL's plan.

    .venv/bin/python bench/name_search.py
    .venv/bin/python bench/name_search.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_names
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlencode

import _setup  # beside this script

SEARCHES = ("helene", "jerome", "zoe", "hel", "helene durand", "lefevre")
RUNS, WARM_UP = 15, 2


def median_ms(action: Callable[[], object]) -> float:
    runs = []
    for i in range(WARM_UP + RUNS):
        started = time.perf_counter()
        action()
        if i >= WARM_UP:
            runs.append(time.perf_counter() - started)
    return 1000 * statistics.median(runs)


def alternated(a: Callable[[], object], b: Callable[[], object]) -> tuple[float, float]:
    """Medians of `a` and `b`, run in turn, so that a busy moment of the machine weighs on
    both alike."""
    runs: tuple[list[float], list[float]] = ([], [])
    for i in range(WARM_UP + RUNS):
        for action, kept in ((a, runs[0]), (b, runs[1])):
            started = time.perf_counter()
            action()
            if i >= WARM_UP:
                kept.append(time.perf_counter() - started)
    return 1000 * statistics.median(runs[0]), 1000 * statistics.median(runs[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    _setup.add_database_option(parser)
    args = parser.parse_args()
    _setup.fresh_django(args.database_url, SMSDESK_IMPORT_MAX_BYTES=str(200_000_000))
    from django.db import connection
    from django.db.models import Q
    from django.test import Client

    from bench.million import FIRST_NAMES, SURNAMES
    from smsdesk.accounts.models import User
    from smsdesk.directory import imports, services
    from smsdesk.directory.models import Contact

    rng = random.Random(21)
    lines = ["nom;prenom;numero"] + [
        f"{rng.choice(SURNAMES)};{rng.choice(FIRST_NAMES) if rng.random() < 0.9 else ''};"
        f"+336{i:08d}"
        for i in range(args.contacts)
    ]
    started = time.perf_counter()
    imports.apply("\n".join(lines).encode())
    print(
        f"{connection.vendor}, {Contact.objects.count():,} contacts imported in "
        f"{time.perf_counter() - started:.1f} s"
    )
    client = Client()
    client.force_login(User.objects.create_user("bench", password="x"))

    def old(q: str) -> list[int]:
        cond = Q(name__icontains=q) | Q(first_name__icontains=q)
        return list(Contact.objects.filter(cond).order_by("name", "id").values_list("id")[:50])

    def new(q: str) -> list[int]:
        return list(services.contact_list(q).order_by("name", "id").values_list("id")[:50])

    def page(url: str, q: str) -> Callable[[], object]:
        return lambda: client.get(url + "?" + urlencode({"q": q}))

    print("| typed | found (new / old) | new ms | old ms | Contacts page ms | type-ahead ms |")
    print("|---|---|---|---|---|---|")
    for q in SEARCHES:
        found_new = services.contact_list(q).count()
        found_old = Contact.objects.filter(
            Q(name__icontains=q) | Q(first_name__icontains=q)
        ).count()
        timings = alternated(lambda q=q: new(q), lambda q=q: old(q))  # type: ignore[misc]
        contacts = median_ms(page("/directory/contacts/", q))
        suggest = median_ms(page("/directory/suggest/contacts/", q))
        print(
            f"| {q} | {found_new:,} / {found_old:,} | {timings[0]:.1f} | {timings[1]:.1f} | "
            f"{contacts:.1f} | {suggest:.1f} |",
            flush=True,
        )
    if connection.vendor == "postgresql":
        sql, params = (
            services.contact_list("helene").order_by("name", "id")[:50].query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
