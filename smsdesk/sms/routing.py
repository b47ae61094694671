"""Which line a message leaves by, and when a line should stop: the pure rules.

A sender's lines form a pool; each has a priority (higher first), may be paused, up or down,
and may carry volume limits per minute, hour, day and month, counted in SMS parts. The
choice (`choose`) and the watch's verdict (`judge`) are pure functions of what the caller
read: `messaging/routing.py` reads the database and calls them, in one place for every entry
point (pages, API, CLI, worker).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median


class Period(enum.StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


PERIODS: tuple[Period, ...] = (Period.MINUTE, Period.HOUR, Period.DAY, Period.MONTH)
LIMIT_OPTIONS = {f"limit_{p.value}": p for p in PERIODS}


@dataclass(frozen=True)
class LineRouting:
    """What the configuration (or an administrator) says of a line's place in the pool."""

    priority: int = 0
    failover: bool = False
    limits: Mapping[Period, int] = field(default_factory=dict)  # parts per period; absent: none
    sender: str = ""  # the sender name or number the line shows (`"from"` may name it)


@dataclass(frozen=True)
class Line:
    """A line as the choice sees it now."""

    name: str
    routing: LineRouting
    up: bool = True
    paused: bool = False
    used: Mapping[Period, int] = field(default_factory=dict)  # parts sent in the current period

    def over(self) -> list[Period]:
        """The periods whose limit is reached (nothing more goes out in them)."""
        return [p for p, cap in self.routing.limits.items() if self.used.get(p, 0) >= cap]

    def left(self) -> int | None:
        """Parts it may still send in every period (None: no limit)."""
        caps = [cap - self.used.get(p, 0) for p, cap in self.routing.limits.items()]
        return max(0, min(caps)) if caps else None

    @property
    def usable(self) -> bool:
        return self.up and not self.paused and not self.over()


def ordered(lines: Sequence[Line]) -> list[Line]:
    """The pool in order of preference: highest priority first, then as configured."""
    return [
        line for _i, line in sorted(enumerate(lines), key=lambda e: (-e[1].routing.priority, e[0]))
    ]


def choose(lines: Sequence[Line], *, preferred: str | None = None) -> Line | None:
    """The line a message without a chosen line leaves by: `preferred` (the line its
    correspondent last wrote to) when usable, else the first usable line of the pool, else
    (nothing usable: the message waits) the preferred line, or the first of the pool."""
    if not lines:
        return None
    by_name = {line.name: line for line in lines}
    pool = ordered(lines)
    if preferred in by_name and by_name[preferred].usable:
        return by_name[preferred]
    for line in pool:
        if line.usable:
            return line
    return by_name.get(preferred or "") or pool[0]


def fallback(lines: Sequence[Line], line: str) -> Line | None:
    """Where the waiting messages of `line` move when it cannot send: the first usable line
    of the pool after it in order of preference, else before it; None when none is usable."""
    pool = [candidate for candidate in ordered(lines) if candidate.name != line]
    return next((candidate for candidate in pool if candidate.usable), None)


def find(lines: Sequence[Line], wanted: str) -> Line | None:
    """The line `wanted` names: a line's name, else its sender name or number (compared
    without case, spaces or a leading +)."""
    for line in lines:
        if line.name == wanted:
            return line

    def norm(text: str) -> str:
        return "".join(text.split()).lstrip("+").casefold()

    key = norm(wanted)
    if not key:
        return None
    return next(
        (line for line in lines if line.routing.sender and norm(line.routing.sender) == key), None
    )


# --- the watch ------------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    FAILED = "failed"  # too many failed results
    UNKNOWN = "unknown"  # too many results the network may or may not have taken
    SLOW_REPORTS = "slow_reports"  # receipts come too late


@dataclass(frozen=True)
class Thresholds:
    window: int = 50  # the last N messages with a result
    minimum: int = 20  # fewer results than this: no judgement
    failed_percent: int = 50  # 0: not judged
    unknown_percent: int = 20
    report_delay: int = 3600  # seconds, median; 0: not judged


@dataclass(frozen=True)
class Health:
    results: int
    failed: int
    unknown: int
    report_delay: float | None  # median seconds between hand-over and receipt

    @property
    def failed_percent(self) -> int:
        return round(100 * self.failed / self.results) if self.results else 0

    @property
    def unknown_percent(self) -> int:
        return round(100 * self.unknown / self.results) if self.results else 0


def health(outcomes: Sequence[str], delays: Sequence[float]) -> Health:
    """Figures over the last results (`outcomes`: "ok", "failed", "unknown") and the delays
    of their receipts."""
    return Health(
        results=len(outcomes),
        failed=sum(1 for o in outcomes if o == "failed"),
        unknown=sum(1 for o in outcomes if o == "unknown"),
        report_delay=float(median(delays)) if delays else None,
    )


def judge(figures: Health, thresholds: Thresholds) -> Verdict | None:
    """Why the line should pause, or None. Nothing is judged on fewer than `minimum`
    results: one failure of the first two SMS is not a broken line."""
    if figures.results < max(1, thresholds.minimum):
        return None
    if (
        thresholds.failed_percent
        and 100 * figures.failed >= thresholds.failed_percent * figures.results
    ):
        return Verdict.FAILED
    if (
        thresholds.unknown_percent
        and 100 * figures.unknown >= thresholds.unknown_percent * figures.results
    ):
        return Verdict.UNKNOWN
    if (
        thresholds.report_delay
        and figures.report_delay is not None
        and figures.report_delay >= thresholds.report_delay
    ):
        return Verdict.SLOW_REPORTS
    return None


class Window:
    """A line's last results as the worker driving it sees them: what the network accepted
    (`ok`), refused for good (`failed`), or may or may not have taken (`unknown`), per
    message, the last `size` messages; a failed receipt turns an `ok` into `failed`, and each
    receipt's delay (from the hand-over) is kept. In memory: the worker that drives a line
    sees all of it, at no cost to the database (a query over the message table would read a
    whole backlog of queued messages first, having no index on status)."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.outcomes: dict[int, str] = {}  # message id -> outcome, oldest first
        self.handed: dict[str, tuple[int, float]] = {}  # part reference -> (message, when)
        self.delays: list[float] = []

    def clear(self) -> None:
        self.outcomes.clear()
        self.handed.clear()
        self.delays.clear()

    def add(
        self, message_id: int, outcome: str, *, refs: Sequence[str] = (), at: float = 0.0
    ) -> None:
        self.outcomes.pop(message_id, None)
        self.outcomes[message_id] = outcome
        while len(self.outcomes) > self.size:
            del self.outcomes[next(iter(self.outcomes))]
        for ref in refs:
            self.handed[ref] = (message_id, at)
        while len(self.handed) > 4 * self.size:
            del self.handed[next(iter(self.handed))]

    def report(self, ref: str, *, failed: bool, at: float) -> None:
        found = self.handed.pop(ref, None)
        if found is None:
            return
        message_id, handed_at = found
        self.delays.append(max(0.0, at - handed_at))
        del self.delays[: -self.size]
        if failed and message_id in self.outcomes:
            self.outcomes[message_id] = "failed"

    def health(self) -> Health:
        return health(list(self.outcomes.values()), self.delays)


def parse_routing(options: dict[str, str]) -> LineRouting:
    """Take the routing options out of a line's options (`priority`, `failover`,
    `limit_minute` ... `limit_month`, `sender`); ValueError on a wrong value. What is left is
    the kind's own options."""
    raw = options.pop("priority", "").strip()
    try:
        priority = int(raw) if raw else 0
    except ValueError:
        raise ValueError(f"priority must be a whole number, not {raw!r}") from None
    if not -1000 <= priority <= 1000:
        raise ValueError(f"priority is from -1000 to 1000, not {priority}")
    raw = options.pop("failover", "").strip().lower()
    if raw not in ("", "1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"failover is true or false, not {raw!r}")
    failover = raw in ("1", "true", "yes", "on")
    limits: dict[Period, int] = {}
    for key, period in LIMIT_OPTIONS.items():
        raw = options.pop(key, "").strip()
        if not raw:
            continue
        try:
            cap = int(raw)
        except ValueError:
            raise ValueError(f"{key} must be a whole number of SMS parts, not {raw!r}") from None
        if not 1 <= cap <= 1_000_000_000:
            raise ValueError(f"{key} is from 1 to 1000000000, not {cap}")
        limits[period] = cap
    sender = options.pop("sender", "").strip()[:32]
    return LineRouting(priority=priority, failover=failover, limits=limits, sender=sender)
