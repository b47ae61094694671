"""API tokens at each request: found, checked (user active, not expired), counted for the
rate limit, and refused attempts logged and throttled per address.

Finding a token is one small SQL statement at every request (its row and its user's: what
decides whether it works now), so a revoked token, a suspended user, a changed role or an
expiry count at the very next request, in every process. The model instances built from
that row are kept per process and used again while the row reads the same (issue 19: the
ORM's query building was a quarter of an API send's time).

The rate limit is a counter per token and per second kept in the token's own row, in the
database: the one store every web process shares (several granian processes, several hosts)
without a new service to run. A process takes its requests from that counter in small
leases (`lease_size`: a tenth of the rate, at most 100), one conditional UPDATE ...
RETURNING (atomic on SQLite and PostgreSQL) per lease, which also records the last use (time
and address), and serves the lease's requests from memory within that second. The database
never lets more than the rate through in a second, whatever the processes; a lease taken and
not used up within its second makes the others refuse a little early, never late. Counting
each request in the database cost a write (and a commit, an fsync) per request. A cache
(Django's LocMemCache is per process) would let each process allow the whole rate. With
SMSDESK_API_RATE=0 nothing is counted and the last use is written at most once a minute.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from smsdesk.accounts.models import ApiToken, FailedTokenAttempt, Organisation, User

log = logging.getLogger("smsdesk.accounts.tokens")

TOKEN_PREFIX = "smsd_"  # noqa: S105 - a marker, not a secret
FAILURES_PER_MINUTE = 20  # refused tokens from one address before it is throttled


@dataclass(frozen=True)
class Rate:
    limit: int  # requests per second; 0: none
    remaining: int
    reset: int  # seconds until the window ends

    @property
    def exceeded(self) -> bool:
        return self.limit > 0 and self.remaining < 0


_USER = User._meta.db_table
_TOKEN = ApiToken._meta.db_table
_ORG = Organisation._meta.db_table
# What decides whether a token works, and what a request is given of it: the row read at
# every request. Two reads that are equal give the same answer and the same instances.
_STATE_SQL = (
    f"SELECT t.id, t.scopes, t.expires_at, u.id, u.role, u.is_superuser, u.is_active, "
    f"u.is_staff, u.language, u.time_zone, u.username, o.id, o.is_active, o.name, o.slug, "
    f"o.time_zone, o.language, o.quota_day, o.quota_month, t.recipients_day, o.recipients_day "
    f"FROM {_TOKEN} t "
    f"JOIN {_USER} u ON u.id = t.user_id JOIN {_ORG} o ON o.id = t.organisation_id "
    f"WHERE t.digest = %s"
)
_ORG_ACTIVE = 12
_CACHE_MAX = 1000
_lock = threading.Lock()
_found: dict[str, tuple[tuple[Any, ...], ApiToken]] = {}  # digest -> (its row, instances)
# by digest, not id: an id is given again after a rollback (SQLite), a digest never
# digest -> [second, requests left, counted before the lease, requests granted]
_leases: dict[str, list[int]] = {}
_touched: dict[str, float] = {}  # digest -> when this process last wrote its last use


def find(raw: str, *, now: datetime | None = None) -> ApiToken | None:
    """The token `raw` names, if it works now (its user active, not expired)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = ApiToken.digest_of(raw)
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, [digest])
        row = cursor.fetchone()
    # unknown, revoked, its user suspended, or its organisation suspended (401 like a wrong one)
    if row is None or not row[6] or not row[_ORG_ACTIVE]:
        with _lock:
            _found.pop(digest, None)
        return None
    state = tuple(row)
    cached = _found.get(digest)
    if cached is not None and cached[0] == state:
        token = copy.copy(cached[1])
        token.user = copy.copy(cached[1].user)
        token.organisation = copy.copy(cached[1].organisation)
    else:
        # Across organisations: the token says which one it belongs to.
        token = (  # type: ignore[assignment,unused-ignore]  # needed or not by import order
            ApiToken.objects.across_orgs()
            .select_related("user", "organisation")
            .filter(digest=digest)
            .first()
        )
        if token is None:
            return None
        with _lock:
            if len(_found) >= _CACHE_MAX:
                _found.clear()
            _found[digest] = (state, copy.copy(token))
    now = now or timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return token


def lease_size(limit: int) -> int:
    return max(1, min(100, limit // 10))


def count(token: ApiToken, *, address: str | None, now: datetime | None = None) -> Rate:
    """Count this request against the token's rate; record its last use."""
    now = now or timezone.now()
    limit = settings.SMSDESK_API_RATE
    if not limit:
        last = _touched.get(token.digest)
        if last is None or time.monotonic() - last > 60:
            # At most one write a minute per token: the API must not write on every read.
            _touched[token.digest] = time.monotonic()
            ApiToken.objects.for_org(token.organisation_id).filter(id=token.id).update(
                last_used_at=now, last_used_ip=address or token.last_used_ip
            )
        return Rate(0, 0, 0)
    second = int(time.time())
    with _lock:
        lease = _leases.get(token.digest)
        if lease is not None and lease[0] == second and lease[1] > 0:
            lease[1] -= 1
            return Rate(limit, limit - (lease[2] + lease[3] - lease[1]), 1)
    size = lease_size(limit)
    table = ApiToken._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET rate_count = CASE WHEN rate_second = %s "
            f"THEN rate_count + %s ELSE %s END, rate_second = %s, last_used_at = %s, "
            f"last_used_ip = COALESCE(%s, last_used_ip) WHERE id = %s RETURNING rate_count",
            [second, size, size, second, now, address, token.id],
        )
        row = cursor.fetchone()
    before = (row[0] if row else size) - size  # counted this second before this lease
    granted = max(0, min(size, limit - before))  # the lease's part within the rate
    if not granted:
        return Rate(limit, -1, 1)
    with _lock:
        _leases[token.digest] = [second, granted - 1, before, granted]
    return Rate(limit, limit - before - 1, 1)


def forget() -> None:
    """Forget the instances and leases kept (the tests' settings changed)."""
    with _lock:
        _found.clear()
        _leases.clear()
        _touched.clear()


def refused(address: str | None, *, now: datetime | None = None) -> bool:
    """A token refused from `address`: logged and counted; True when that address is over
    FAILURES_PER_MINUTE this minute (then answered 429, not 401)."""
    minute = int(time.time()) // 60
    where = address or "unknown"
    table = FailedTokenAttempt._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (address, minute, count) VALUES (%s, %s, 1) "
            f"ON CONFLICT (address, minute) DO UPDATE SET count = {table}.count + 1 "
            f"RETURNING count",
            [where, minute],
        )
        row = cursor.fetchone()
        if row and row[0] == 1:  # the first of its minute: forget the old minutes
            cursor.execute(f"DELETE FROM {table} WHERE minute < %s", [minute - 1])
    failures = row[0] if row else 1
    log.warning("API token refused from %s (%d this minute)", where, failures)
    return failures > FAILURES_PER_MINUTE
