"""Searching the text of messages by words, through an index on both databases.

What a search matches (the same on SQLite and PostgreSQL): each word typed must begin a word of
the message, in any order, case and accents ignored. "ete" finds "Été", "rdv dem" finds "RDV
demain", "l'été" looks for "l" and "ete". A word is a run of letters and digits: quotes,
apostrophes, `*`, `-`, parentheses and emoji only separate words, so nothing a person types is
read as query syntax (`OR`, `NEAR(` are words like any other). A search with no letter or digit
matches no text. Not matched: the middle of a word ("jour" does not find "bonjour").

SQLite: the FTS5 tables `messaging_message_words` and `messaging_campaign_words` (migration
0008), kept by triggers. PostgreSQL: the GIN indexes `msg_words` and `campaign_words` on
`smsdesk_words(body)` (to_tsvector 'simple' of the unaccented text). Minor difference:
PostgreSQL also keeps "exemple.com" or "12.5" as one word (found by "exemple" or "12", not by
"com").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from smsdesk.core import tenancy

_WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 20  # a 100-character search holds at most 50; more adds cost, not precision


def words(text: str) -> list[str]:
    """The words of a search, in order, without repeats."""
    found = _WORD.findall(unicodedata.normalize("NFC", text).casefold())
    return list(dict.fromkeys(found))[:MAX_WORDS]


def match(text: str, *, org: Any) -> Q:
    """Messages of organisation `org` whose text has every word of `text` (as the start of
    one of its words); nothing when `text` has no word.

    A campaign's words are indexed once, in its row: its messages are found through it (the
    words of the text as written in New SMS, fields such as {prénom} not expanded); a message
    outside any campaign (received, automatic replies) through its own words.

    The matching ids are read first through the index, a query no ORDER BY can lead astray
    (PostgreSQL guesses 0.5 % of the rows for any prefix search, so it would rather read the
    list's index in date order, filtering every row: seconds at a million for a rare word).
    Few matches: the list reads them by id. Many: it reads in its own order and checks each
    row, finding a page of a common word within a few hundred rows.

    The index holds every organisation's words: "few" is counted over all of them (so that
    a common word costs a small organisation no more than the first FEW matches), and the
    few are then kept only if they are `org`'s. Keeping the others made the list's query
    carry ids none of which was `org`'s and PostgreSQL read the whole list to find that
    (the rare word at 50 organisations, 543 ms: bench/RESULTS.md, issue 16/20 plans).
    """
    found = words(text)
    if not found:
        return Q(pk__in=[])
    org_id = tenancy.org_id(tenancy.resolve(org))
    # A campaign's message whose text was blanked (data retention's masking) is found no
    # more through its campaign's words: an empty text matches no word.
    if connection.vendor == "sqlite":
        return _sqlite(found, "messaging_message", "id", org_id) | (
            _sqlite(found, "messaging_campaign", "campaign_id", org_id) & ~Q(body="")
        )
    if connection.vendor == "postgresql":
        return _postgresql(found, "messaging_message", "id", org_id) | (
            _postgresql(found, "messaging_campaign", "campaign_id", org_id) & ~Q(body="")
        )
    cond = Q()  # another database: no index, the same meaning approximately
    for w in found:
        cond &= Q(body__icontains=w)
    return cond


FEW = 5_000  # matches read by id: a few ms of lookups and a sort


def _ids(sql: str, params: list[str], limit: int, org_id: int) -> list[int] | None:
    """The ids `sql` finds (it selects id, organisation id) that are `org_id`'s, or None
    when it finds more than `limit` - 1 over every organisation (a common word)."""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT {int(limit)}", params)
        rows = cursor.fetchall()
    if len(rows) >= limit:
        return None
    return [row_id for row_id, owner in rows if owner == org_id]


# Table and column names below are constants of this module, never user text.
def _sqlite(found: list[str], table: str, column: str, org_id: int) -> Q:
    # Each word as an FTS5 string (syntax characters inside quotes are plain text) and a
    # prefix: "ete"* "dem"*. Words hold letters and digits only; doubling " is belt and braces.
    query = " ".join('"' + w.replace('"', '""') + '"*' for w in found)
    matching = f"SELECT rowid FROM {table}_words WHERE {table}_words MATCH %s"  # noqa: S608
    owned = (
        f"SELECT {table}_words.rowid, t.organisation_id FROM {table}_words "  # noqa: S608
        f"JOIN {table} AS t ON t.id = {table}_words.rowid WHERE {table}_words MATCH %s"
    )
    ids = _ids(owned, [query], FEW + 1, org_id)
    if ids is not None:
        return Q(**{f"{column}__in": ids})
    # Common: `+` keeps SQLite reading the list's index in order, the matches gathered once
    # aside (a correlated MATCH per row would evaluate the whole query again each time).
    sql = f"+messaging_message.{column} IN ({matching})"
    return Q(RawSQL(sql, [query], output_field=BooleanField()))  # noqa: S611 (fixed SQL)


def _postgresql(found: list[str], table: str, column: str, org_id: int) -> Q:
    # One smsdesk_word_prefix(%s) per word: the SQL is fixed, the words are parameters.
    tsquery = " && ".join(["smsdesk_word_prefix(%s)"] * len(found))
    condition = f"smsdesk_words({table}.body) @@ ({tsquery})"
    if table == "messaging_message":  # the partial index's condition
        condition = f"{table}.campaign_id IS NULL AND {condition}"
    matching = f"SELECT id FROM {table} WHERE {condition}"  # noqa: S608
    owned = f"SELECT id, organisation_id FROM {table} WHERE {condition}"  # noqa: S608
    ids = _ids(owned, found, FEW + 1, org_id)
    if ids is not None:
        return Q(**{f"{column}__in": ids})
    if table == "messaging_message":
        return Q(RawSQL(condition, found, output_field=BooleanField()))  # noqa: S611
    sql = f"messaging_message.{column} IN ({matching})"
    return Q(RawSQL(sql, found, output_field=BooleanField()))  # noqa: S611 (fixed SQL)
