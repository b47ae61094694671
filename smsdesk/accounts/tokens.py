"""API tokens at each request: found, checked (user active, not expired), counted for the
rate limit, and refused attempts logged and throttled per address.

The rate limit is a counter per token and per second kept in the token's own row, in the
database: the one store every web process shares (several granian processes, several hosts)
without a new service to run; the API already reads that row at each request, and the count
is one conditional UPDATE ... RETURNING (atomic on SQLite and PostgreSQL) which also records
the last use (time and address). A cache (Django's LocMemCache is per process) would let each
process allow the whole rate. With SMSDESK_API_RATE=0 nothing is counted and the last use is
written at most once a minute, as before.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from smsdesk.accounts.models import ApiToken, FailedTokenAttempt

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


def find(raw: str, *, now: datetime | None = None) -> ApiToken | None:
    """The token `raw` names, if it works now (its user active, not expired)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    # Across organisations: the token says which one it belongs to. A suspended
    # organisation's tokens answer 401 like a wrong one.
    token = (
        ApiToken.objects.across_orgs()
        .select_related("user", "organisation")
        .filter(digest=ApiToken.digest_of(raw), user__is_active=True)
        .first()
    )
    if token is None or not token.organisation.is_active:
        return None
    now = now or timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return token


def count(token: ApiToken, *, address: str | None, now: datetime | None = None) -> Rate:
    """Count this request against the token's rate; record its last use."""
    now = now or timezone.now()
    limit = settings.SMSDESK_API_RATE
    if not limit:
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            # At most one write a minute per token: the API must not write on every read.
            ApiToken.objects.for_org(token.organisation_id).filter(id=token.id).update(
                last_used_at=now, last_used_ip=address or token.last_used_ip
            )
        return Rate(0, 0, 0)
    second = int(time.time())
    table = ApiToken._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET rate_count = CASE WHEN rate_second = %s "
            f"THEN rate_count + 1 ELSE 1 END, rate_second = %s, last_used_at = %s, "
            f"last_used_ip = COALESCE(%s, last_used_ip) WHERE id = %s RETURNING rate_count",
            [second, second, now, address, token.id],
        )
        row = cursor.fetchone()
    used = row[0] if row else 1
    return Rate(limit, limit - used, 1)


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
