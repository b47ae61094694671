"""Campaign benchmark: a personalised send to a group of N contacts, and its pages.

Times, on a fresh database:
- saving a New SMS "Bonjour {prénom|client}, à {ville|bientôt}" to a group of N members
  (`create_campaign`: one rendering per recipient, all in one transaction), between two
  sends of a plain text (the first creates the N discussions, the later ones update them);
- the server time (Django's test client, no network, median of 7) of the campaign list, the
  campaign's page (counts per state in one grouped query, first page of recipients), its
  progress partial, and a search among its recipients.

Usage:

    .venv/bin/python bench/campaigns.py                       # SQLite, 100,000 contacts
    .venv/bin/python bench/campaigns.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_campaigns

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import statistics
import time

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)


def timed(label: str, func):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func()
    print(f"{label:<52} {time.perf_counter() - start:8.3f} s", flush=True)
    return result


def page_time(client, url: str, params: dict) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs = []
    for _ in range(7):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url, params)
            runs.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(runs), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts in the group")
    _setup.add_database_option(parser)
    args = parser.parse_args()

    _setup.fresh_django(args.database_url)
    from django.db import connection
    from django.test import Client

    from smsdesk.accounts.models import User
    from smsdesk.core.bulk import insert_rows
    from smsdesk.directory import services
    from smsdesk.directory.models import Contact, ContactField, search_name_of
    from smsdesk.directory.services import Targets
    from smsdesk.messaging import sending

    n = args.contacts
    print(f"{connection.vendor}, {n:,} contacts")
    ContactField.objects.create(key="ville", label="Ville")
    insert_rows(
        Contact,
        Contact(name=""),
        ["name", "first_name", "number", "fields", "search_name"],
        [
            (
                f"Nom{i}",
                f"Prénom{i % 977}" if i % 10 else "",
                f"+336{i:08d}",
                f'{{"ville": "V{i % 50}"}}',
                search_name_of(f"Nom{i}", f"Prénom{i % 977}" if i % 10 else ""),
            )
            for i in range(n)
        ],
    )
    ids = list(Contact.objects.values_list("id", flat=True))
    group = services.create_group(name="Tous", contacts=ids)

    plain = timed(
        f"plain New SMS to the {n:,}-member group",
        lambda: sending.create_campaign(
            author=None, body="Soldes demain !", targets=Targets(groups=[group.id]), tag="bench"
        ),
    )
    personal = timed(
        f"personalised New SMS to the {n:,}-member group",
        lambda: sending.create_campaign(
            author=None,
            body="Bonjour {prénom|client}, à {ville|bientôt} !",
            targets=Targets(groups=[group.id]),
            tag="bench",
        ),
    )
    again = timed(
        "plain New SMS again (the discussions exist now)",
        lambda: sending.create_campaign(
            author=None, body="Soldes demain !", targets=Targets(groups=[group.id])
        ),
    )
    assert personal.recipient_count == plain.recipient_count == again.recipient_count == n

    user = User.objects.create_user("bench", password="x", role=User.Role.ADMIN)
    client = Client()
    client.force_login(user)
    for label, page, params in [
        ("campaign list", "/sms/campaigns/", {}),
        ("campaign page (counts + recipients)", f"/sms/campaigns/{personal.id}/", {}),
        ("campaign progress partial", f"/sms/campaigns/{personal.id}/progress/", {}),
        (
            "campaign recipients, search a number",
            f"/sms/campaigns/{personal.id}/",
            {"q": "06 00 04 24"},
        ),
        ("campaign recipients, failed only", f"/sms/campaigns/{personal.id}/", {"state": "failed"}),
    ]:
        median, queries = page_time(client, page, params)
        print(f"{label:<52} {median * 1000:8.1f} ms (median of 7, {queries} queries)", flush=True)


if __name__ == "__main__":
    main()
