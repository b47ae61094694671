"""Routing: which line each message leaves by, the lines' volume limits, the failover of
what waits on a line that cannot send, and the watch that pauses a failing line.

The one place of these rules for every entry point (New SMS, a reply, the API, the CLI, the
worker). The choice itself is pure (`smsdesk.sms.routing`); this module reads what it needs:
the lines of SMSDESK_GATEWAYS with their routing options (`priority`, `failover`, `limit_*`,
`sender`), what an administrator changed over them on the Passerelles page
(`GatewayState.routing`), each line's state (down, paused) and its use in the current minute,
hour, day and month, in SMS parts:

- minute and hour: `LineUsage`, a row per line and minute, written by the worker after each
  hand-over (`record_usage`);
- day and month: the day counters the lifecycle keeps anyway (`stats.sent_parts`).

The rule, when nothing is chosen: a message to a correspondent who wrote to us leaves by the
line they last wrote to (`Conversation.line`); otherwise by the highest-priority line that is
up, not paused and under its limits. A line down for SMSDESK_FAILOVER_AFTER seconds, paused,
or over a limit has its waiting messages (queued or scheduled and due, never handed over)
moved to the next usable line of the pool when its `failover` is on (`fail_over`, run by the
worker's housekeeping; `lifecycle.reroute` makes the move, and never moves a message that a
worker claimed or that may have been handed over: `unknown` stays `unknown`).

The watch: the worker that drives a line keeps its last results in memory
(`sms.routing.Window`: accepted, refused, `unknown`, and the receipts' delays) and calls
`judge` after each hand-over and each batch of receipts; over a threshold the line is paused
(`pause`, with the verdict and its figures), and an administrator resumes it (`resume`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from smsdesk.accounts import access
from smsdesk.core import tenancy
from smsdesk.core.errors import ServiceError, collect
from smsdesk.gateways.registry import GatewaySpec
from smsdesk.messaging import errors, gateway_state, lifecycle, stats
from smsdesk.messaging import lines as owners
from smsdesk.messaging.models import Conversation, GatewayState, LineUsage, Message
from smsdesk.messaging.sql import chunks, db_time
from smsdesk.sms import routing as rules
from smsdesk.sms.routing import Line, LineRouting, Period, Verdict

log = logging.getLogger(__name__)

S = Message.Status

# Why a line is paused, as pages show it (the watch's verdicts, or an administrator).
MANUAL = "manual"
PAUSE_REASONS = {
    MANUAL: gettext_noop("paused by %(user)s"),
    Verdict.FAILED: gettext_noop(
        "%(failed)d %% of its last %(results)d SMS failed (the limit is %(limit)d %%)"
    ),
    Verdict.UNKNOWN: gettext_noop(
        "%(unknown)d %% of its last %(results)d SMS may or may not have gone out (the limit "
        "is %(limit)d %%)"
    ),
    Verdict.SLOW_REPORTS: gettext_noop(
        "its delivery reports take %(delay)d s (median of its last %(results)d SMS; the "
        "limit is %(limit)d s)"
    ),
}


class LineNotAllowed(ServiceError):
    code = "forbidden"
    http_status = 403


class InvalidRouting(ServiceError):
    code = "invalid_routing"


# --- what the lines are now -----------------------------------------------------------------


@dataclasses.dataclass
class LineView:
    """A line as the pages show it and the choice sees it."""

    line: Line
    spec: GatewaySpec
    state: GatewayState | None
    configured: LineRouting  # SMSDESK_GATEWAYS' values, before the page's changes

    @property
    def name(self) -> str:
        return self.line.name

    @property
    def limits(self) -> list[tuple[Period, int, int]]:
        """(period, used, limit) of each limited period, in order."""
        r = self.line.routing
        return [(p, self.line.used.get(p, 0), r.limits[p]) for p in rules.PERIODS if p in r.limits]

    @property
    def over(self) -> list[Period]:
        return self.line.over()

    @property
    def paused(self) -> bool:
        return self.line.paused


def specs() -> list[GatewaySpec]:
    return gateway_state.configured()


def _routing_of(spec: GatewaySpec, changed: Mapping[str, Any]) -> LineRouting:
    """The configuration's routing with an administrator's changes over it."""
    r = spec.routing
    limits = dict(r.limits)
    for period in rules.PERIODS:
        key = f"limit_{period.value}"
        if key in changed:
            if changed[key]:
                limits[period] = int(changed[key])
            else:
                limits.pop(period, None)
    return LineRouting(
        priority=int(changed.get("priority", r.priority)),
        failover=bool(changed.get("failover", r.failover)),
        limits=limits,
        sender=r.sender,
    )


def _is_up(state: GatewayState | None, now: datetime) -> bool:
    """Usable as far as the network goes: not down, or down for less than
    SMSDESK_FAILOVER_AFTER seconds (a modem's blip moves nothing)."""
    if state is None or state.down_since is None:
        return True
    return now - state.down_since < timedelta(seconds=settings.SMSDESK_FAILOVER_AFTER)


def pool(now: datetime | None = None, *, usage: bool = True, org: Any = None) -> list[LineView]:
    """The lines of `org` (every configured line when None: the worker's view), in the
    configuration's order, with its state and (`usage`) its use in each limited period. A
    constant number of queries whatever the traffic."""
    now = now or timezone.now()
    configured = specs()
    if org is not None:  # an organisation's pool: its own lines only (messaging/lines.py)
        mine = set(owners.lines_of(org))
        configured = [s for s in configured if s.name in mine]
    states = _states([s.name for s in configured])
    views = []
    for spec in configured:
        state = states.get(spec.name)
        routing = _routing_of(
            spec, state.routing if state and isinstance(state.routing, dict) else {}
        )
        if org is not None and (sender := owners.sender_for(spec.name, org)):
            # a shared line, as this organisation sees it: with its own sender on it
            routing = dataclasses.replace(routing, sender=sender)
        line = Line(
            name=spec.name,
            routing=routing,
            up=_is_up(state, now),
            paused=bool(state and state.paused_at),
        )
        views.append(LineView(line, spec, state, spec.routing))
    if usage:
        used = usage_of([v.name for v in views if v.line.routing.limits], now)
        for v in views:
            if v.name in used:
                v.line = dataclasses.replace(v.line, used=used[v.name])
    return views


def _states(names: Sequence[str]) -> dict[str, GatewayState]:
    """The rows of these lines, in one plain statement (every send reads them: the ORM's
    query building was a third of the send's CPU, issue 19's profile)."""
    if not names:
        return {}
    table = GatewayState._meta.db_table
    marks = ", ".join(["%s"] * len(names))
    sql = f"SELECT * FROM {table} WHERE name IN ({marks})"  # noqa: S608
    return {g.name: g for g in GatewayState.objects.raw(sql, list(names))}


def lines(now: datetime | None = None, *, org: Any = None) -> list[Line]:
    return [v.line for v in pool(now, org=org)]


def several(org: Any = None) -> bool:
    """`org` has more than one line: the pages show each message's line, New SMS offers a
    choice."""
    return len(owners.lines_of(tenancy.resolve(org))) > 1


def line_names(org: Any = None) -> list[str]:
    return owners.lines_of(tenancy.resolve(org))


# --- use and limits --------------------------------------------------------------------------


def _starts(now: datetime) -> tuple[datetime, datetime]:
    """The current minute and hour as they start in SMSDESK_TIME_ZONE (an hour of a zone
    half an hour off UTC starts at :30 UTC), in UTC."""
    local = timezone.localtime(now, timezone.get_default_timezone())
    minute = local.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    return minute.astimezone(UTC), hour.astimezone(UTC)


def usage_of(names: Sequence[str], now: datetime) -> dict[str, dict[Period, int]]:
    """Parts each line handed over in the current minute, hour, day and month (local)."""
    if not names:
        return {}
    minute, hour = _starts(now)
    found: dict[str, dict[Period, int]] = {
        n: {Period.MINUTE: 0, Period.HOUR: 0, Period.DAY: 0, Period.MONTH: 0} for n in names
    }
    for row in LineUsage.objects.filter(line__in=list(names), minute__gte=hour).values(
        "line", "minute", "parts"
    ):
        found[row["line"]][Period.HOUR] += row["parts"]
        if row["minute"] >= minute:
            found[row["line"]][Period.MINUTE] += row["parts"]
    for name, (day, month) in stats.sent_parts(names, today=stats.local_day(now)).items():
        found[name][Period.DAY] = day
        found[name][Period.MONTH] = month
    return found


def record_usage(line: str, parts: int, *, now: datetime) -> None:
    """`parts` SMS parts of `line` were handed over now: its minute's row grows (one upsert;
    one worker drives a line at a time; the lanes of a line of several binds grow the same
    row, each as the last statement of its results' transaction)."""
    if parts <= 0:
        return
    minute, _hour = _starts(now)
    table = LineUsage._meta.db_table
    sql = (
        f"INSERT INTO {table} (line, minute, parts) VALUES (%s, %s, %s) "  # noqa: S608
        f"ON CONFLICT (line, minute) DO UPDATE SET parts = {table}.parts + excluded.parts"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [line, db_time(minute), parts])


def purge_usage(now: datetime) -> int:
    deleted, _ = LineUsage.objects.filter(minute__lt=now - timedelta(hours=2)).delete()
    return deleted


def allowance(line: str, now: datetime | None = None) -> int | None:
    """What the worker may hand over on `line` now, in SMS parts: 0 when it is paused or
    over a limit, None when nothing limits it (its pace aside)."""
    paused, left = line_state(line, now)
    return 0 if paused else left


def _left(line: str, state: GatewayState | None, now: datetime) -> int | None:
    spec = next((s for s in specs() if s.name == line), None)
    if spec is None:
        return None
    routing = _routing_of(spec, state.routing if state and isinstance(state.routing, dict) else {})
    if not routing.limits:
        return None
    used = usage_of([line], now)[line]
    return Line(line, routing, used=used).left()


# --- the choice --------------------------------------------------------------------------------


def resolve(
    wanted: str, *, field: str = "from", org: Any = None, views: Sequence[LineView] | None = None
) -> str:
    """The line of `org` that `wanted` names (a line's name, or its sender name or
    number); refused when none does (another organisation's line answers as a missing one).
    `views`: `org`'s pool as the caller read it already (one read per send)."""
    org = tenancy.resolve(org)
    if views is None:
        views = pool(usage=False, org=org)
    found = rules.find([v.line for v in views], wanted.strip())
    if found is None:
        raise errors.UnknownGateway(
            _("There is no line named %(name)s (the lines: %(lines)s).")
            % {"name": wanted.strip()[:50], "lines": ", ".join(line_names(org))},
            field=field,
        )
    return found.name


def correspondents_lines(peers: Sequence[str], *, org: Any = None) -> dict[str, str]:
    """The line each correspondent last wrote to (those who never wrote are absent), on the
    conversations' unique index: one query per 10,000 numbers (an array on PostgreSQL,
    1,000 numbers a query on SQLite, which binds at most 32,766 parameters)."""
    org_id = tenancy.resolve(org).pk  # the organisation's own conversations
    found: dict[str, str] = {}
    table = Conversation._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for chunk in chunks(list(peers), 10_000):
                cursor.execute(
                    f"SELECT peer, line FROM {table} WHERE organisation_id = %s "  # noqa: S608
                    f"AND peer = ANY(%s) AND line <> ''",
                    [org_id, list(chunk)],
                )
                found.update(cursor.fetchall())
        else:
            for chunk in chunks(list(peers), 1000):
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT peer, line FROM {table} WHERE organisation_id = %s "  # noqa: S608
                    f"AND peer IN ({marks}) AND line <> ''",
                    [org_id, *chunk],
                )
                found.update(cursor.fetchall())
    return found


def route(
    peers: Sequence[str],
    *,
    chosen: str | None = None,
    org: Any = None,
    views: Sequence[LineView] | None = None,
) -> dict[str, str]:
    """The line each number's message leaves by: `chosen` (a line or a sender, checked) for
    all, else each correspondent's last line when it is usable, else the best of `org`'s
    pool (its own lines only). `views`: that pool as the caller read it already (`pool`
    with its use: a send reads its organisation's lines once)."""
    org = tenancy.resolve(org)
    if views is None:
        views = pool(org=org)
    if chosen:
        name = resolve(chosen, org=org, views=views)
        return dict.fromkeys(peers, name)
    pool_now = [v.line for v in views]
    if not pool_now:
        return {}
    best = rules.choose(pool_now)
    assert best is not None
    last = correspondents_lines(peers, org=org)
    picks: dict[str, str] = {}
    by_last: dict[str, str] = {}
    for peer in peers:
        wrote_to = last.get(peer)
        if wrote_to is None:
            picks[peer] = best.name
            continue
        if wrote_to not in by_last:
            pick = rules.choose(pool_now, preferred=wrote_to)
            by_last[wrote_to] = pick.name if pick else best.name
        picks[peer] = by_last[wrote_to]
    return picks


# --- failover ----------------------------------------------------------------------------------


def fail_over(now: datetime | None = None) -> int:
    """Move the due waiting messages of every line that cannot send (down for
    SMSDESK_FAILOVER_AFTER, paused, over a limit) and allows failover to the next usable
    line of the pool. Returns how many moved."""
    now = now or timezone.now()
    current = lines(now)
    # A line's messages only ever move to a line of their own organisation: a line shared by
    # several moves each one's messages to a line of that one, never by another's line.
    owner = owners.owners()
    sharing = owners.shared()
    moved = 0
    for line in current:
        if line.usable or not line.routing.failover:
            continue
        if line.name in sharing:
            for org, _senders in sharing[line.name]:
                moved += _move_waiting(line, current, org, now=now, only_theirs=True)
        else:
            moved += _move_waiting(line, current, owner.get(line.name), now=now)
    return moved


def _move_waiting(
    line: Line,
    current: Sequence[Line],
    org: int | None,
    *,
    now: datetime,
    only_theirs: bool = False,
) -> int:
    """`line`'s waiting messages (only organisation `org`'s with `only_theirs`) to the first
    usable line of `org`'s pool; how many moved."""
    theirs = set(owners.lines_of(org)) if org is not None else {x.name for x in current}
    target = rules.fallback([x for x in current if x.name in theirs], line.name)
    if target is None:
        return 0
    kind = next((s.kind for s in specs() if s.name == target.name), "unknown")
    gateway_state.ensure(target.name, kind)  # the messages' foreign key
    ids = lifecycle.reroute(
        line=line.name, to=target.name, now=now, organisation=org if only_theirs else None
    )
    if ids:
        log.warning(
            "line %s cannot send (%s): %d waiting messages moved to line %s",
            line.name,
            "paused" if line.paused else ("down" if not line.up else "over its limit"),
            len(ids),
            target.name,
        )
    return len(ids)


# --- pause, resume, the page's changes ---------------------------------------------------------


def _state(name: str, org: Any = None) -> GatewayState:
    """The row of a configured line, of `org` when given (the command line: any line)."""
    spec = next((s for s in specs() if s.name == name), None)
    if spec is not None and org is not None and name not in owners.lines_of(org):
        spec = None  # another organisation's line answers as a missing one
    if spec is None:
        known = line_names(org) if org is not None else [s.name for s in specs()]
        raise errors.UnknownGateway(
            _("There is no line named %(name)s (the lines: %(lines)s).")
            % {"name": name[:50], "lines": ", ".join(known)},
            field="line",
        )
    return gateway_state.ensure(spec.name, spec.kind)


def pause(
    name: str,
    *,
    by: Any,
    reason: str = MANUAL,
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    org: Any = None,
) -> bool:
    """Pause a line (an administrator, the command line with `by=None`, or the watch with
    its verdict as `reason`): it sends nothing until resumed. False if it was paused."""
    if reason == MANUAL:
        access.require_admin(by, _("Only an administrator may pause a line."), error=LineNotAllowed)
    state = _state(name, org)
    who = by if getattr(by, "pk", None) else None
    shown = dict(detail or {})
    if reason == MANUAL:
        shown.setdefault("user", getattr(by, "username", "") or "smsdesk line")
    return bool(
        GatewayState.objects.filter(name=state.name, paused_at__isnull=True).update(
            paused_at=now or timezone.now(),
            pause_reason=str(reason)[:20],
            pause_detail=shown,
            paused_by=who,
        )
    )


def resume(name: str, *, by: Any, now: datetime | None = None, org: Any = None) -> bool:
    """An administrator resumes a paused line; the watch then judges only what it sends
    from now on. False if it was not paused."""
    access.require_admin(by, _("Only an administrator may resume a line."), error=LineNotAllowed)
    state = _state(name, org)
    return bool(
        GatewayState.objects.filter(name=state.name, paused_at__isnull=False).update(
            paused_at=None,
            pause_reason="",
            pause_detail={},
            paused_by=None,
            resumed_at=now or timezone.now(),
        )
    )


def paused_lines(*, org: Any = None) -> list[GatewayState]:
    """`org`'s lines that are paused (every configured line when None), oldest pause
    first (the admins' banner)."""
    names = [s.name for s in specs()] if org is None else owners.lines_of(org)
    return list(
        GatewayState.objects.filter(name__in=names, paused_at__isnull=False).order_by(
            "paused_at", "name"
        )
    )


def pause_text(state: GatewayState) -> str:
    """Why a line is paused, in the reader's language."""
    template = PAUSE_REASONS.get(state.pause_reason)
    if template is None:
        return ""
    detail = state.pause_detail if isinstance(state.pause_detail, dict) else {}
    try:
        return _(template) % detail
    except (KeyError, TypeError, ValueError):
        return _(template.split("%", 1)[0]).strip() or state.pause_reason


LIMIT_MAX = 1_000_000_000


def change(
    name: str,
    *,
    by: Any,
    priority: int,
    failover: bool,
    limits: Mapping[Period, int | None],
    org: Any = None,
) -> None:
    """An administrator sets a line's priority, failover and limits (over SMSDESK_GATEWAYS'
    values, kept until `reset`)."""
    access.require_admin(
        by, _("Only an administrator may change a line's routing."), error=LineNotAllowed
    )

    def check_priority() -> None:
        if not -1000 <= priority <= 1000:
            raise InvalidRouting(
                _("The priority is a whole number from -1000 to 1000."), field="priority"
            )

    def check_limit(period: Period) -> Any:
        def check() -> None:
            value = limits.get(period)
            if value is not None and not 1 <= value <= LIMIT_MAX:
                raise InvalidRouting(
                    _("A limit is a number of SMS parts from 1 to %(max)d, or empty for none.")
                    % {"max": LIMIT_MAX},
                    field=f"limit_{period.value}",
                )

        return check

    collect(check_priority, *(check_limit(p) for p in rules.PERIODS))
    state = _state(name, org)
    changed: dict[str, Any] = {"priority": priority, "failover": failover}
    for period in rules.PERIODS:
        changed[f"limit_{period.value}"] = limits.get(period) or 0
    GatewayState.objects.filter(name=state.name).update(routing=changed)


def reset(name: str, *, by: Any, org: Any = None) -> None:
    """Back to SMSDESK_GATEWAYS' values."""
    access.require_admin(
        by, _("Only an administrator may change a line's routing."), error=LineNotAllowed
    )
    GatewayState.objects.filter(name=_state(name, org).name).update(routing={})


# --- the watch ---------------------------------------------------------------------------------


def thresholds() -> rules.Thresholds:
    return rules.Thresholds(
        window=settings.SMSDESK_WATCH_MESSAGES,
        minimum=settings.SMSDESK_WATCH_MIN_MESSAGES,
        failed_percent=settings.SMSDESK_WATCH_FAILED_PERCENT,
        unknown_percent=settings.SMSDESK_WATCH_UNKNOWN_PERCENT,
        report_delay=settings.SMSDESK_WATCH_REPORT_DELAY,
    )


def verdict_detail(figures: rules.Health, verdict: Verdict) -> dict[str, int]:
    """What the pause's reason shows (PAUSE_REASONS' fields)."""
    limits = thresholds()
    return {
        "results": figures.results,
        "failed": figures.failed_percent,
        "unknown": figures.unknown_percent,
        "delay": round(figures.report_delay or 0),
        "limit": {
            Verdict.FAILED: limits.failed_percent,
            Verdict.UNKNOWN: limits.unknown_percent,
            Verdict.SLOW_REPORTS: limits.report_delay,
        }[verdict],
    }


def judge(line: str, figures: rules.Health, *, now: datetime | None = None) -> Verdict | None:
    """The watch: the worker driving `line` gives its last results (`sms.routing.Window`);
    over a threshold the line is paused, with why. Returns the verdict when it paused it."""
    verdict = rules.judge(figures, thresholds())
    if verdict is None:
        return None
    if not pause(
        line, by=None, reason=verdict.value, detail=verdict_detail(figures, verdict), now=now
    ):
        return None  # paused already (by an administrator, or another verdict)
    log.error("line %s paused by the watch: %s (%s)", line, verdict.value, figures)
    return verdict


def publish_health(line: str, figures: rules.Health) -> None:
    """The watch's figures, for the Passerelles page."""
    GatewayState.objects.filter(name=line).update(
        watch={
            "results": figures.results,
            "failed": figures.failed_percent,
            "unknown": figures.unknown_percent,
            "delay": None if figures.report_delay is None else round(figures.report_delay),
        }
    )


def line_state(line: str, now: datetime | None = None) -> tuple[bool, int | None]:
    """(paused, parts left by its limits: None for none), what the worker asks before
    each claim."""
    state = GatewayState.objects.filter(name=line).first()
    if state is not None and state.paused_at is not None:
        return True, 0
    return False, _left(line, state, now or timezone.now())
