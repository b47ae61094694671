"""bench/orgs.py, small: the isolation of organisations adds no query per row (no N+1) to any
page the million-message benchmark measures (issue 16: "query counts pinned").

One organisation is seeded alone (a single-organisation installation) and every page, deep
page, search and API list of bench/million.py is read once as its administrator, counting
its SQL queries; then two more organisations are seeded beside it, the second with the same
generator seed (the same contact names, correspondent numbers and tags as the first, on its
own line). The first organisation's pages among three, and the second's, must take exactly
the queries the first's took alone: a query per row of the isolation (an N+1) would add
to them, as would an organisation looked up again for each list."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from bench import million, orgs
from smsdesk.accounts.models import Organisation
from smsdesk.messaging.models import CampaignCount, DailyCount, Message

MESSAGES, PEERS = 2_000, 300


def quiet(_line: str) -> None:
    pass


@pytest.fixture
def three(db, settings):  # type: ignore[no-untyped-def]
    first = orgs.seed_first(messages=MESSAGES, correspondents=PEERS, rng_seed=12, log=quiet)
    alone = million.measure_pages(first.facts, user=first.admin, repeat=1)
    settings.SMSDESK_GATEWAYS = orgs.lines_setting(3)
    twin = orgs.seed_other(2, messages=MESSAGES, correspondents=PEERS, rng_seed=12, log=quiet)
    other = orgs.seed_other(3, messages=MESSAGES // 2, correspondents=100, rng_seed=5, log=quiet)
    return first, twin, other, alone


def test_organisations_hold_their_own_seeded_data(three) -> None:  # type: ignore[no-untyped-def]
    first, twin, other, _alone = three
    assert Organisation.objects.count() == 3
    for member, n in ((first, MESSAGES), (twin, MESSAGES), (other, MESSAGES // 2)):
        mine = Message.objects.filter(organisation=member.organisation)
        assert mine.count() == n
        assert set(mine.values_list("gateway", flat=True)) == {member.line}
        assert member.admin.organisation_id == member.organisation.pk
        assert member.admin.is_admin
        # the day counters of each organisation say what its own messages say
        received = DailyCount.objects.filter(organisation=member.organisation, event="received")
        assert received.aggregate(n=Sum("count"))["n"] == mine.filter(direction="in").count()
    # the twin has the first's numbers and names, not its rows
    assert twin.facts.busiest_peer == first.facts.busiest_peer
    assert twin.facts.big_campaign_id != first.facts.big_campaign_id
    # every campaign has its counts, once
    counted = CampaignCount.objects.values_list("campaign_id", flat=True).distinct()
    assert set(counted) == set(
        Message.objects.filter(campaign__isnull=False).values_list("campaign_id", flat=True)
    )


def test_isolation_adds_no_query_to_any_page(three) -> None:  # type: ignore[no-untyped-def]
    first, twin, other, alone = three
    expected = orgs.queries_of(alone)
    assert len(expected) > 50 and all(n > 0 for _label, n in expected)
    among = million.measure_pages(first.facts, user=first.admin, repeat=1)
    assert orgs.queries_of(among) == expected
    # another organisation of the same size and shape, among three: the same queries
    assert orgs.queries_of(million.measure_pages(twin.facts, user=twin.admin, repeat=1)) == expected
    # a smaller one, of other data, answers every page too (measure asserts 200); its
    # counts may differ where its data does (a name no contact of it has: no lookup)
    assert len(million.measure_pages(other.facts, user=other.admin, repeat=1)) == len(expected)


# Queries of a few pages, pinned (SQLite, PostgreSQL: a list of more than 1,000 rows adds
# the planner's estimate of its count there): the lines' owners (3 queries) are read once per
# request and the visit banner costs none without a visit (core/memo.py, accounts/visits.py).
# Before, on SQLite: the home page 25, a list 18, the one discussion 19, Statistics 14.
PINNED = {
    # the lines' owners and states in one statement each (messaging/lines.py, issue 19)
    "Accueil (home)": (16, 16),
    "Envoyés, first page": (10, 11),  # the keys, then the rows (core/lists.py first_rows)
    "one discussion (busiest, +33673695798)": (10, 10),
    "Statistiques, a year by day": (8, 8),
    "API messages": (6, 7),
    "API calls": (6, 6),
}


def test_the_pages_queries_are_pinned(three) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    _first, _twin, _other, alone = three
    counts = dict(orgs.queries_of(alone))
    pg = connection.vendor == "postgresql"
    assert {label: counts[label] for label in PINNED} == {
        label: pair[pg] for label, pair in PINNED.items()
    }


def test_sizes_share_the_messages_exactly() -> None:
    assert orgs.sizes(1_000_000, 50) == [500_000] + [10_205] * 4 + [10_204] * 45
    assert sum(orgs.sizes(20_000, 50)) == 20_000
    assert orgs.sizes(7, 1) == [7]
    assert orgs.lines_setting(3) == [
        "simulator",
        "line-02=simulator?org=org-02",
        "line-03=simulator?org=org-03",
    ]
