"""Directory benchmark: import, export, lists and a send to a group, with N contacts.

Times, on a fresh database:
- importing a CSV file of N contacts (preview and write, as `smsdesk contacts import` does);
- exporting them as CSV and as JSON;
- the server time of the contact list, a search (by name, by number) and the type-ahead,
  through Django's test client (no network), median of 7;
- saving a New SMS to a group of N members (`create_campaign`, all in one transaction).

Usage:

    .venv/bin/python bench/directory.py                       # SQLite, 100,000 contacts
    .venv/bin/python bench/directory.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_directory
    .venv/bin/python bench/directory.py --profile             # cProfile of the group send

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import statistics
import time

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)

TARGETS = {  # seconds, from issue 9
    "import": 10.0,
    "export csv": 5.0,
    "export json": 5.0,
    "page": 0.100,
    "group send": 5.0,
}


def csv_file(n: int) -> bytes:
    lines = ["Nom;Prénom;Numéro;Ville"]
    for i in range(n):
        digits = f"{i:08d}"
        number = "06 " + " ".join(digits[j : j + 2] for j in range(0, 8, 2))
        lines.append(f"Nom{i};Prénom{i % 977};{number};Ville{i % 50}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def timed(label: str, func, target: float | None = None):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    verdict = "" if target is None else ("  OK" if elapsed < target else f"  OVER {target:g} s")
    print(f"{label:<42} {elapsed:8.3f} s{verdict}", flush=True)
    return result


def page_time(client, url: str, params: dict) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        response = client.get(url, params)
        runs.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts imported")
    _setup.add_database_option(parser)
    parser.add_argument("--profile", action="store_true", help="cProfile the group send")
    args = parser.parse_args()

    _setup.fresh_django(args.database_url, SMSDESK_IMPORT_MAX_BYTES=str(200_000_000))
    from django.db import connection
    from django.test import Client

    from smsdesk.accounts.models import User
    from smsdesk.directory import exports, imports, services
    from smsdesk.directory.models import Contact, ContactField, Group
    from smsdesk.directory.services import Targets
    from smsdesk.messaging import sending
    from smsdesk.messaging.models import Message

    n = args.contacts
    print(f"{connection.vendor}, {n:,} contacts")
    ContactField.objects.create(key="city", label="Ville")
    data = csv_file(n)
    print(f"{'CSV file':<42} {len(data) / 1e6:8.1f} MB")

    result = timed(
        f"import {n:,} contacts (plan + write)", lambda: imports.apply(data), TARGETS["import"]
    )
    assert len(result.create) == n and Contact.objects.count() == n
    again = timed("preview of the same file again (all unchanged)", lambda: imports.plan(data))
    assert again.skipped == n

    qs = Contact.objects.all()
    csv_size = timed(
        "export CSV", lambda: sum(len(c) for c in exports.csv_chunks(qs)), TARGETS["export csv"]
    )
    json_size = timed(
        "export JSON", lambda: sum(len(c) for c in exports.json_chunks(qs)), TARGETS["export json"]
    )
    print(f"{'  (sizes)':<42} {csv_size / 1e6:8.1f} MB CSV, {json_size / 1e6:.1f} MB JSON")

    user = User.objects.create_user("bench", password="x")
    client = Client()
    client.force_login(user)
    for label, page, params in [
        ("contact list, first page", "/directory/contacts/", {}),
        (
            "contact list, page 2000 sorted by number",
            "/directory/contacts/",
            {"page": 2000, "sort": "-number"},
        ),
        ("search by name (Nom4242)", "/directory/contacts/", {"q": "Nom4242"}),
        ("search by number (06 00 04 24)", "/directory/contacts/", {"q": "06 00 04 24"}),
        ("type-ahead (nom77)", "/directory/suggest/contacts/", {"q": "nom77"}),
        ("type-ahead (06 00 09)", "/directory/suggest/contacts/", {"q": "06 00 09"}),
    ]:
        median = page_time(client, page, params)
        verdict = "  OK" if median < TARGETS["page"] else "  OVER 0.1 s"
        print(f"{label:<42} {median * 1000:8.1f} ms (median of 7){verdict}", flush=True)

    ids = list(Contact.objects.values_list("id", flat=True))
    group = timed(
        f"group of {n:,} members (create_group)",
        lambda: services.create_group(name="Tous", contacts=ids),
    )
    assert Group.objects.get(id=group.id).contacts.count() == n

    def send():  # type: ignore[no-untyped-def]
        return sending.create_campaign(
            author=None, body="Soldes demain !", targets=Targets(groups=[group.id])
        )

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        campaign = send()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    else:
        campaign = timed(f"New SMS to the {n:,}-member group (saved)", send, TARGETS["group send"])
    assert campaign.recipient_count == n and Message.objects.count() == n


if __name__ == "__main__":
    main()
