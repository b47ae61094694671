"""Every page at a million messages among 50 organisations (issue 16, "Must show").

One database holds `--organisations` organisations (default 50) whose messages add up to
`--messages` (default 1,000,000): one big organisation with half of them (the installation's
first, "default", as an upgraded single-customer installation has it) and the others sharing
the rest equally (49 x about 10,200). Each is seeded by bench/million.py's generator
(`million.seed`, see its docstring: campaigns, replies, STOP list and its history, directory,
groups, calls, unread discussions, counters) with its own line (`line-NN=simulator?org=org-NN`
in SMSDESK_GATEWAYS; the big one keeps `simulator`), its own administrator and operator, and
its own share of `--correspondents` (default 20,000, in proportion to its messages), from
its own random seed: the organisations have different correspondents, some numbers in common.

Then, as that organisation's administrator (a user with `organisation` set), it measures for
the big organisation and for one small one (`--small`, default the middle one) every page,
deep page, search and API list that bench/million.py measures (median / worst of 20 after 2
warm-ups, bound 150 ms, the home page 50 ms), and prints a summary: each page's medians and
its number of SQL queries for

- the big organisation alone in the database, before the others were seeded: a
  single-organisation installation of its size (one request per page, no timing);
- the big organisation among the 50;
- the small organisation among the 50.

The isolation must add no query per row (no N+1): the first two columns are equal page by
page; tests/bench/test_orgs.py pins it on a small database (one organisation alone, then the
same pages among three, and another organisation of the same size among three).

Usage:

    .venv/bin/python bench/orgs.py                       # SQLite, 1,000,000 messages
    .venv/bin/python bench/orgs.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_orgbench
    .venv/bin/python bench/orgs.py --messages 20000      # a quick look
    .venv/bin/python bench/orgs.py --keep --only API     # the database seeded before, again

`--keep` reuses a database an earlier run seeded (migrated first: a new index is made) and
measures the big and the middle organisation only: copied into a checkout of the old code,
it gives the before and after on the same data (bench/RESULTS.md, issue 16/20 plans).

On PostgreSQL the database named in the URL is dropped and created again; SQLite: a file in
--data-dir (default: a new temporary directory). Seeding writes rows directly (COPY on
PostgreSQL, executemany on SQLite), organisation after organisation.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

try:  # run as a script: million.py is beside it
    import million
except ImportError:  # imported by the tests as bench.orgs
    from bench import million

BIG_SHARE = 0.5  # of the messages (and correspondents), the big organisation's


@dataclass
class Member:
    """One seeded organisation: what the measurements need."""

    organisation: Any  # accounts.Organisation
    admin: Any  # accounts.User, its administrator
    facts: million.Seeded
    line: str


def sizes(total: int, organisations: int, big_share: float = BIG_SHARE) -> list[int]:
    """How `total` is shared: the first organisation `big_share` of it, the others the rest
    equally (the first ones one more when it does not divide), every one at least 1... and
    the sum exactly `total`."""
    if organisations == 1:
        return [total]
    big = round(total * big_share)
    rest = total - big
    each, extra = divmod(rest, organisations - 1)
    return [big] + [each + (1 if i < extra else 0) for i in range(organisations - 1)]


def slug_of(index: int) -> str:
    return f"org-{index:02d}"


def line_of(index: int) -> str:
    """The line of the organisation numbered `index` (1: the big one, the default line)."""
    return million.GATEWAY if index == 1 else f"line-{index:02d}"


def lines_setting(count: int) -> list[str]:
    """SMSDESK_GATEWAYS for `count` organisations: the default line (the first
    organisation's, named by no `org=`), then one line per other organisation."""
    return [million.GATEWAY] + [
        f"{line_of(i)}=simulator?org={slug_of(i)}" for i in range(2, count + 1)
    ]


def count_organisation(org_id: int) -> None:
    """The day counters (home and Statistics pages) and the campaigns' counts per state of
    one organisation's seeded messages: what the migrations' backfills count
    (messaging 0012 and 0013, which bench/million.py runs for a single organisation), here for
    one organisation among several. The same events, days and keys as migration 0013."""
    from django.db.models import Count, Q, Sum
    from django.db.models.functions import TruncDate

    from smsdesk.messaging import lifecycle
    from smsdesk.messaging.models import CampaignCount, DailyCount, Message

    messages = Message.objects.for_org(org_id)
    out = Q(direction="out")
    scans = [
        ("sent", "sent_at", out & Q(sent_at__isnull=False)),
        ("delivered", "status_at", out & Q(status="delivered", status_at__isnull=False)),
        ("failed", "status_at", out & Q(status="failed", status_at__isnull=False)),
        ("unknown", "status_at", out & Q(status="unknown", status_at__isnull=False)),
        ("blocked", "status_at", out & Q(status="blocked", status_at__isnull=False)),
        ("received", "created_at", Q(direction="in")),
        (
            "reported",
            "sent_at",
            out & Q(status__in=["delivered", "failed"], sent_at__isnull=False),
        ),
    ]
    counts: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for event, column, where in scans:
        rows = (
            messages.filter(where)
            .annotate(day=TruncDate(column))
            .values_list("day", "gateway_id", "campaign__tag", "author_id")
            .annotate(n=Count("id"), parts=Sum("segments"))
            .order_by()
        )
        for day, gateway, tag, author, n, parts in rows:
            gateway = "" if event == "blocked" else gateway or ""
            total = counts[(day, gateway, tag or "", author or 0, event)]
            total[0] += n
            total[1] += parts or 0
    DailyCount.objects.bulk_create(
        [
            DailyCount(
                organisation_id=org_id,
                day=d,
                gateway=g,
                tag=t,
                user_id=u,
                event=e,
                count=n,
                parts=p,
            )
            for (d, g, t, u, e), (n, p) in counts.items()
        ],
        batch_size=500,
    )
    per_state: dict[tuple[int, str], int] = defaultdict(int)
    grouped = (
        messages.filter(campaign_id__isnull=False)
        .values_list("campaign_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for campaign_id, status, n in grouped:
        bucket = lifecycle.BUCKET_OF.get(status)
        if bucket:
            per_state[(campaign_id, bucket)] += n
    CampaignCount.objects.bulk_create(
        [CampaignCount(campaign_id=c, bucket=b, count=n) for (c, b), n in per_state.items()],
        batch_size=500,
    )


def seed_first(
    *, messages: int, correspondents: int, rng_seed: int, log: Callable[[str], None] = print
) -> Member:
    """The first organisation (the installation's default one), alone in the database: a
    single-organisation installation, counted by million.seed itself."""
    from smsdesk.accounts.models import User
    from smsdesk.core import tenancy

    organisation = tenancy.sole_organisation()
    facts = million.seed(
        messages=messages,
        correspondents=correspondents,
        rng_seed=rng_seed,
        log=log,
        analyse=False,
        organisation=organisation,
    )
    admin = User.objects.get(username="bench-admin")
    return Member(organisation, admin, facts, million.GATEWAY)


def seed_other(
    index: int,
    *,
    messages: int,
    correspondents: int,
    rng_seed: int,
    log: Callable[[str], None] = print,
) -> Member:
    """Organisation number `index` (2, 3...): created, seeded on its own line, counted."""
    from smsdesk.accounts.models import Organisation

    slug = slug_of(index)
    organisation = Organisation.objects.create(name=f"Espace {index:02d}", slug=slug)
    facts = million.seed(
        messages=messages,
        correspondents=correspondents,
        rng_seed=rng_seed,
        log=log,
        analyse=False,
        organisation=organisation,
        gateway=line_of(index),
        usernames=(f"admin-{slug}", f"operator-{slug}"),
        passwords=False,  # no password hashing 98 times: the bench logs in without one
        counters=False,
    )
    count_organisation(organisation.pk)
    from smsdesk.accounts.models import User

    admin = User.objects.get(username=f"admin-{slug}")
    return Member(organisation, admin, facts, line_of(index))


def seeded_member(index: int) -> Member:
    """Organisation number `index` of a database seeded by an earlier run (`--keep`): its
    administrator and the facts the pages need, read from its own rows."""
    from django.db.models import Count

    from smsdesk.accounts.models import Organisation, User
    from smsdesk.messaging.models import Campaign, Conversation, Message

    if index == 1:
        organisation = Organisation.objects.order_by("id").first()
        admin = User.objects.get(username="bench-admin")
    else:
        organisation = Organisation.objects.get(slug=slug_of(index))
        admin = User.objects.get(username=f"admin-{slug_of(index)}")
    assert organisation is not None
    messages = Message.objects.for_org(organisation)
    busiest = messages.values("peer").annotate(n=Count("id")).order_by("-n", "peer").first()
    big = Campaign.objects.for_org(organisation).order_by("-recipient_count", "id").first()
    facts = million.Seeded(
        messages=messages.count(),
        correspondents=Conversation.objects.for_org(organisation).count(),
        busiest_peer=busiest["peer"] if busiest else "",
        big_campaign_id=big.id if big else 0,
        big_campaign_size=big.recipient_count if big else 0,
    )
    return Member(organisation, admin, facts, line_of(index))


def queries_of(figures: list[million.Figure]) -> list[tuple[str, int]]:
    return [(f.label, f.queries) for f in figures]


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the run --------------------------------------------------------------------------------


def _measure_kept(args: argparse.Namespace, small_index: int) -> None:
    """--keep: the big and the small organisation of a database seeded before, measured."""
    from django.conf import settings
    from django.db import connection

    settings.SMSDESK_GATEWAYS = lines_setting(args.organisations)
    print(f"{connection.vendor}, reusing the database seeded before")
    print(f"load average at the start: {_load()}")
    results = {}
    for name, index in (("big", 1), ("small", small_index)):
        member = seeded_member(index)
        print(
            f"\n## {name}: {member.organisation.name} ({member.organisation.slug}, "
            f"{member.facts.messages:,} messages), as {member.admin.username}\n"
        )
        results[name] = million.measure_pages(member.facts, args.only, user=member.admin)
    print("\n| page | big median ms | small median ms | queries big / small |")
    print("|---|---|---|---|")
    for b, s in zip(results["big"], results["small"], strict=True):
        print(
            f"| {b.label} | {b.median * 1000:.1f} | {s.median * 1000:.1f} "
            f"| {b.queries} / {s.queries} |"
        )
    print(f"load average at the end: {_load()}")


def main() -> None:
    import _setup  # beside this script

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages, in all")
    parser.add_argument("--organisations", type=int, default=50)
    parser.add_argument(
        "--correspondents", type=int, default=20_000, help="peer numbers, in all (shared)"
    )
    parser.add_argument(
        "--small", type=int, default=0, help="the small organisation measured (default: middle)"
    )
    parser.add_argument("--seed", type=int, default=12, help="the first organisation's seed")
    _setup.add_database_option(parser)
    parser.add_argument("--data-dir", default="", help="SQLite file's directory")
    parser.add_argument(
        "--only",
        default="",
        help="measure only the pages whose label has one of these (comma-separated)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="reuse the database an earlier run seeded (migrated, not seeded again): measure "
        "the big and the small organisation only (to compare two versions of the code)",
    )
    args = parser.parse_args()
    if args.organisations < 2:
        parser.error("--organisations: at least 2 (bench/million.py measures one)")
    small_index = args.small or (args.organisations + 2) // 2
    if not 2 <= small_index <= args.organisations:
        parser.error(f"--small: between 2 and {args.organisations}")

    # the pages are measured, not the token's rate limit (50 a second by default)
    url, data_dir = _setup.environment(
        args.database_url, args.data_dir, SMSDESK_DEBUG="0", SMSDESK_API_RATE="0"
    )
    if args.keep and million._seeded_before(url):
        _setup.start_django()  # migrated: a new index of the code measured is made
        _measure_kept(args, small_index)
        return
    _setup.empty_database(url)
    _setup.start_django()
    from django.conf import settings
    from django.db import connection

    print(f"{connection.vendor}, {url if url.startswith('postgres') else data_dir}")
    print(f"load average at the start: {_load()}")
    messages = sizes(args.messages, args.organisations)
    peers = [max(50, n) for n in sizes(args.correspondents, args.organisations)]
    print(
        f"seeding {args.messages:,} messages in {args.organisations} organisations: "
        f"{messages[0]:,} in the big one, {messages[1]:,} (or {messages[-1]:,}) in each other; "
        f"correspondents {peers[0]:,} / {peers[1]:,}"
    )
    started = time.perf_counter()
    big = seed_first(messages=messages[0], correspondents=peers[0], rng_seed=args.seed)
    million._analyse()  # statistics, or PostgreSQL plans the pages below blind (seconds each)
    print(f"the big organisation seeded in {big.facts.seconds:.1f} s, alone in the database")

    print("\n## The big organisation alone (a single-organisation database): queries per page\n")
    alone = million.measure_pages(big.facts, args.only, user=big.admin, repeat=1)

    settings.SMSDESK_GATEWAYS = lines_setting(args.organisations)
    members = [big]
    quiet: Callable[[str], None] = lambda _line: None  # noqa: E731
    for index in range(2, args.organisations + 1):
        members.append(
            seed_other(
                index,
                messages=messages[index - 1],
                correspondents=peers[index - 1],
                rng_seed=args.seed + index,
                log=quiet,
            )
        )
    t = time.perf_counter()
    million._analyse()
    seconds = time.perf_counter() - started
    print(
        f"\n{args.organisations} organisations seeded in {seconds:.1f} s "
        f"(ANALYZE {time.perf_counter() - t:.1f} s)"
    )
    small = members[small_index - 1]

    results = {}
    for name, member in (("big", big), ("small", small)):
        print(
            f"\n## {member.organisation.name} ({member.organisation.slug}, "
            f"{member.facts.messages:,} messages), as {member.admin.username}\n"
        )
        results[name] = million.measure_pages(member.facts, args.only, user=member.admin)

    print(
        f"\n## Summary: median ms (1 of {args.organisations} organisations), bound, "
        "queries per page\n"
    )
    print(
        f"| page (the big organisation's) | big: {big.facts.messages:,} msgs | "
        f"small: {small.facts.messages:,} msgs | "
        "bound | over | queries: big alone | big among "
        f"{args.organisations} | small among {args.organisations} |"
    )
    print("|---|---|---|---|---|---|---|---|")
    differ = []
    for one, (b, s) in zip(alone, zip(results["big"], results["small"], strict=True), strict=True):
        over = ", ".join(n for n, f in (("big", b), ("small", s)) if f.over) or "no"
        if one.queries != b.queries:
            differ.append(b.label)
        print(
            f"| {b.label} | {b.median * 1000:.1f} | {s.median * 1000:.1f} | "
            f"{b.bound * 1000:g} | {over} | {one.queries} | {b.queries} | {s.queries} |"
        )
    over_pages = [f"{n}: {f.label}" for n in ("big", "small") for f in results[n] if f.over]
    print(
        f"\nmedian of {million.RUNS} after {million.WARM_UP} warm-up; over their bound: "
        f"{'; '.join(over_pages) or 'none'}"
    )
    print(f"load average at the end: {_load()}")
    print(
        "queries per page, the big organisation alone vs among "
        f"{args.organisations}: {'differ: ' + ', '.join(differ) if differ else 'the same'}"
    )


if __name__ == "__main__":
    main()
