"""Quotas: how many SMS parts an organisation may send per day and per month (issue 16).

The platform administrator sets them (`smsdesk org quota`, the organisation's platform page);
0 means no limit. A send is counted when it is saved (`sending.create_campaign`), in the
transaction that saves it: its parts (each recipient's text, blocked numbers excepted) are
added to the organisation's use of the day and of the month, and a send that would go over
either is refused whole, nothing of it kept (the count is the send's last statement: its
refusal rolls back what the send wrote), saying what remains.

Concurrent sends of one organisation are counted one after the other: the organisation's row
is locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite writes one transaction at a time), so
100 sends at once never go over by even one part. Days and months are the organisation's
local ones (its time zone, else SMSDESK_TIME_ZONE). The SMS the platform sends on its own (a
STOP confirmation, an auto-reply, the answer to a call) are not counted: they answer what
came in. A cancelled send does not give its parts back (as with a prepaid plan).

Recipients per day (issue 19): the distinct numbers a send goes to (blocked ones excepted),
counted per local day against the organisation's limit (`Organisation.recipients_day`, every
send of the organisation, set by the platform administrator) and against the API token's
(`ApiToken.recipients_day`, the sends made with that token, set by its owner). The same rule
as the quotas: refused whole, nothing of it kept (429, Retry-After to the next local
midnight), counted in the send's transaction, exact under concurrency (the organisation's
row locked; the token's count kept in its own row by one conditional UPDATE). Recipients
are counted while a limit is set (the day a limit is set, from that moment on); the quotas'
parts always (the platform page shows them).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.accounts.models import ApiToken, Organisation
from smsdesk.core import tenancy
from smsdesk.messaging import errors
from smsdesk.messaging.models import QuotaUse

WARN_AT = 0.8  # the home page warns from 80 % of a quota on
RECIPIENTS = "r"  # the QuotaUse period of a day's recipients: "r2026-12-07"
_TOKENS = ApiToken._meta.db_table


@dataclass(frozen=True)
class Use:
    """One quota's state: `limit` 0 = none."""

    period: str  # "day" or "month"
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used) if self.limit else -1

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 0.0

    @property
    def warning(self) -> bool:
        return bool(self.limit) and self.share >= WARN_AT

    @property
    def reached(self) -> bool:
        return bool(self.limit) and self.used >= self.limit


def _zone(org: Any) -> zoneinfo.ZoneInfo:
    name = getattr(org, "time_zone", "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _periods(org: Any, now: datetime) -> tuple[str, str, datetime, datetime]:
    """The keys of today and this month (local to `org`) and when each ends."""
    zone = _zone(org)
    local = now.astimezone(zone)
    today = local.date()
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    day_ends = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    month_ends = datetime.combine(next_month, datetime.min.time(), zone)
    return f"d{today.isoformat()}", f"m{first.isoformat()[:7]}", day_ends, month_ends


def _organisation(org: Any) -> Organisation:
    org = tenancy.resolve(org)
    return org if isinstance(org, Organisation) else Organisation.objects.get(pk=org)


def usage(org: Any = None, *, now: datetime | None = None) -> tuple[Use, Use]:
    """Today's and this month's use of `org`'s quotas (one query)."""
    org = _organisation(org)
    now = now or timezone.now()
    day_key, month_key, day_ends, month_ends = _periods(org, now)
    used = dict(
        QuotaUse.objects.for_org(org)
        .filter(period__in=(day_key, month_key))
        .values_list("period", "parts")
    )
    return (
        Use("day", org.quota_day, used.get(day_key, 0), day_ends),
        Use("month", org.quota_month, used.get(month_key, 0), month_ends),
    )


def _user_keys(user: Any, day_key: str, month_key: str) -> tuple[str, str]:
    return f"u{user.pk}{day_key}", f"u{user.pk}{month_key}"


def user_usage(user: Any, *, now: datetime | None = None) -> tuple[Use, Use]:
    """Today's and this month's use of `user`'s own quotas (their sends; one query; days
    and months are their organisation's)."""
    org = _organisation(user.organisation_id)
    now = now or timezone.now()
    day_key, month_key, day_ends, month_ends = _periods(org, now)
    keys = _user_keys(user, day_key, month_key)
    used = dict(
        QuotaUse.objects.for_org(org).filter(period__in=keys).values_list("period", "parts")
    )
    return (
        Use("user_day", user.quota_day, used.get(keys[0], 0), day_ends),
        Use("user_month", user.quota_month, used.get(keys[1], 0), month_ends),
    )


def users_usage(org: Any, users: Any, *, now: datetime | None = None) -> dict[int, tuple[Use, Use]]:
    """`user_usage` of each of `users` (the users page), in one query."""
    org = _organisation(org)
    now = now or timezone.now()
    day_key, month_key, day_ends, month_ends = _periods(org, now)
    users = list(users)
    keys = {u.pk: _user_keys(u, day_key, month_key) for u in users}
    used = dict(
        QuotaUse.objects.for_org(org)
        .filter(period__in=[k for pair in keys.values() for k in pair])
        .values_list("period", "parts")
    )
    return {
        u.pk: (
            Use("user_day", u.quota_day, used.get(keys[u.pk][0], 0), day_ends),
            Use("user_month", u.quota_month, used.get(keys[u.pk][1], 0), month_ends),
        )
        for u in users
    }


def recipients_usage(org: Any = None, *, now: datetime | None = None) -> Use:
    """Today's recipients of `org` against its limit of recipients per day (one query)."""
    org = _organisation(org)
    now = now or timezone.now()
    day_key, _m, day_ends, _e = _periods(org, now)
    key = RECIPIENTS + day_key[1:]
    used = QuotaUse.objects.for_org(org).filter(period=key).values_list("parts", flat=True)
    return Use("recipients", org.recipients_day, next(iter(used), 0), day_ends)


def token_usage(token: Any, *, now: datetime | None = None) -> Use:
    """Today's recipients of an API token against its own limit (no query: its row)."""
    org = _organisation(token.organisation_id)
    now = now or timezone.now()
    day_key, _m, day_ends, _e = _periods(org, now)
    used = token.recipients_used if token.recipients_date == day_key[1:] else 0
    return Use("token", token.recipients_day, used, day_ends)


def take(
    org: Any,
    parts: int,
    *,
    recipients: int = 0,
    token: Any = None,
    user: Any = None,
    now: datetime | None = None,
) -> None:
    """Count `parts` against `org`'s quotas and those of the `user` sending (None: the
    platform), and `recipients` against the recipients per day of `org` and of the API
    `token` sending (None: the web, the CLI, the platform), or refuse (QuotaExceeded,
    RecipientLimitExceeded) when that would go over one of them. Call it in the transaction
    that saves the send, as its last statement (create_campaign does): a refusal rolls back
    the send with its counts, a rollback of the send takes its counts back with it, and the
    organisation's rows it locks are held only until the commit that follows (issue 19)."""
    if parts <= 0 and recipients <= 0:
        return
    org = _organisation(org)
    now = now or timezone.now()
    counts: dict[str, int] = {}
    if user is not None and getattr(user, "organisation_id", None) == org.pk and parts > 0:
        counts.update(_take_user(user, org, parts, now))
    if token is not None and token.recipients_day and recipients > 0:
        _take_token(token, org, recipients, now)
    if org.quota_day or org.quota_month or org.recipients_day:
        # Read again under a lock of the organisation's row: one send of this organisation
        # at a time from here to the commit, with the quotas as they are now (PostgreSQL;
        # SQLite's IMMEDIATE transactions already write one at a time).
        org.quota_day, org.quota_month, org.recipients_day = (
            Organisation.objects.select_for_update()
            .filter(pk=org.pk)
            .values_list("quota_day", "quota_month", "recipients_day")
            .get()
        )
    day_key, month_key, _d, _m = _periods(org, now)
    if parts > 0 and (org.quota_day or org.quota_month):
        day, month = usage(org, now=now)
        for use in (day, month):
            if use.limit and use.used + parts > use.limit:
                refused = errors.QuotaExceeded(_refusal(use, parts), field="text")
                refused.retry_after = max(1, int((use.resets_at - now).total_seconds()))
                raise refused
    if parts > 0:
        counts.update({day_key: parts, month_key: parts})
    if org.recipients_day and recipients > 0:
        use = recipients_usage(org, now=now)
        if use.used + recipients > use.limit:
            raise _recipients_refusal(use, recipients, now)
        # counted while a limit is set (a statement less per send without one)
        counts[RECIPIENTS + day_key[1:]] = recipients
    _add_all(org, counts)


def _take_user(user: Any, org: Organisation, parts: int, now: datetime) -> dict[str, int]:
    """Check `parts` against the user's own quotas (refused as the organisation's are) and
    give the counts to add: their sends are always counted, so that the users page shows
    what each used. With a quota set, the user's row is locked first (as the organisation's
    is for its quotas): two sends of one user are counted one after the other."""
    from smsdesk.accounts.models import User

    day_key, month_key, _d, _m = _periods(org, now)
    if user.quota_day or user.quota_month:
        user.quota_day, user.quota_month = (
            User.objects.select_for_update()
            .filter(pk=user.pk)
            .values_list("quota_day", "quota_month")
            .get()
        )
    if user.quota_day or user.quota_month:
        for use in user_usage(user, now=now):
            if use.limit and use.used + parts > use.limit:
                refused = errors.QuotaExceeded(_refusal(use, parts), field="text")
                refused.retry_after = max(1, int((use.resets_at - now).total_seconds()))
                raise refused
    day, month = _user_keys(user, day_key, month_key)
    return {day: parts, month: parts}


def _add_all(org: Any, counts: dict[str, int]) -> None:
    """Add each period's count in one statement (issue 19: it was one UPDATE each)."""
    if not counts:
        return
    table = QuotaUse._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organisation_id, period, parts) VALUES "  # noqa: S608
            + ", ".join("(%s, %s, %s)" for _c in counts)
            + f" ON CONFLICT (organisation_id, period) DO UPDATE "
            f"SET parts = {table}.parts + excluded.parts",
            [v for period, n in counts.items() for v in (org.pk, period, n)],
        )


def _take_token(token: Any, org: Organisation, recipients: int, now: datetime) -> None:
    """Count `recipients` in the token's own row, in one conditional UPDATE: the row is
    written only if the day's count stays within the limit as the row holds it now (a
    concurrent send of the same token waits for this one's commit on PostgreSQL, then is
    checked again against the new count; SQLite writes one transaction at a time)."""
    day = _periods(org, now)[0][1:]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TOKENS} SET recipients_used = CASE WHEN recipients_date = %s "  # noqa: S608
            f"THEN recipients_used + %s ELSE %s END, recipients_date = %s "
            f"WHERE id = %s AND organisation_id = %s AND (recipients_day = 0 OR "
            f"(CASE WHEN recipients_date = %s THEN recipients_used ELSE 0 END) + %s "
            f"<= recipients_day) RETURNING recipients_used",
            [day, recipients, recipients, day, token.pk, org.pk, day, recipients],
        )
        if cursor.fetchone() is not None:
            return
        cursor.execute(
            f"SELECT recipients_day, recipients_date, recipients_used FROM {_TOKENS} "  # noqa: S608
            f"WHERE id = %s AND organisation_id = %s",
            [token.pk, org.pk],
        )
        row = cursor.fetchone()
    if row is None:  # revoked meanwhile: its request was let in; the organisation still counts
        return
    limit, date, used = row
    use = Use("token", limit, used if date == day else 0, _periods(org, now)[2])
    raise _recipients_refusal(use, recipients, now)


def _recipients_refusal(use: Use, recipients: int, now: datetime) -> Exception:
    asked = ngettext("%(n)d recipient", "%(n)d recipients", recipients) % {"n": recipients}
    values = {"asked": asked, "left": use.remaining, "limit": use.limit}
    if use.period == "token":
        message = _(
            "This send goes to %(asked)s; this API token may reach %(left)d more today "
            "(%(limit)d a day). Nothing was sent. Send to fewer numbers, or tomorrow."
        )
    else:
        message = _(
            "This send goes to %(asked)s; your organisation may reach %(left)d more today "
            "(%(limit)d recipients a day). Nothing was sent. Send to fewer numbers, or tomorrow."
        )
    refused = errors.RecipientLimitExceeded(message % values, field="to")
    refused.retry_after = max(1, int((use.resets_at - now).total_seconds()))
    refused.limit = use.limit
    refused.remaining = use.remaining
    return refused


def _refusal(use: Use, parts: int) -> str:
    asked = ngettext("%(n)d SMS part", "%(n)d SMS parts", parts) % {"n": parts}
    left = use.remaining
    if use.period == "user_day":
        return _(
            "This send needs %(asked)s; your own daily quota allows %(left)d more today "
            "(%(limit)d a day). Nothing was sent. Send to fewer numbers, or tomorrow."
        ) % {"asked": asked, "left": left, "limit": use.limit}
    if use.period == "user_month":
        return _(
            "This send needs %(asked)s; your own monthly quota allows %(left)d more this "
            "month (%(limit)d a month). Nothing was sent. Send to fewer numbers, or ask an "
            "administrator."
        ) % {"asked": asked, "left": left, "limit": use.limit}
    if use.period == "day":
        return _(
            "This send needs %(asked)s; the daily quota allows %(left)d more today "
            "(%(limit)d a day). Nothing was sent. Send to fewer numbers, or tomorrow."
        ) % {"asked": asked, "left": left, "limit": use.limit}
    return _(
        "This send needs %(asked)s; the monthly quota allows %(left)d more this month "
        "(%(limit)d a month). Nothing was sent. Send to fewer numbers, or ask your provider."
    ) % {"asked": asked, "left": left, "limit": use.limit}
