"""The pure routing rules: the choice of a line, the failover's target, the watch's verdict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.sms import routing
from smsdesk.sms.routing import Line, LineRouting, Period, Thresholds, Verdict


def line(name: str, priority: int = 0, **kw: object) -> Line:
    limits = kw.pop("limits", {})
    used = kw.pop("used", {})
    failover = bool(kw.pop("failover", False))
    sender = str(kw.pop("sender", ""))
    return Line(
        name,
        LineRouting(priority=priority, failover=failover, limits=limits, sender=sender),  # type: ignore[arg-type]
        used=used,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_the_highest_priority_line_that_can_send_is_chosen() -> None:
    pool = [line("a", 1), line("b", 5), line("c", 5)]
    assert routing.choose(pool).name == "b"  # equal priorities: the configuration's order
    assert routing.choose([line("a", 1), line("b", 5, paused=True)]).name == "a"
    assert routing.choose([line("a", 1), line("b", 5, up=False)]).name == "a"
    over = line("b", 5, limits={Period.DAY: 10}, used={Period.DAY: 10})
    assert routing.choose([line("a", 1), over]).name == "a"


def test_a_reply_prefers_the_correspondents_line_while_it_can_send() -> None:
    pool = [line("orange", 9), line("free", 1)]
    assert routing.choose(pool, preferred="free").name == "free"
    pool = [line("orange", 9), line("free", 1, paused=True)]
    assert routing.choose(pool, preferred="free").name == "orange"
    assert routing.choose(pool, preferred="gone").name == "orange"


def test_nothing_usable_leaves_the_message_waiting_on_its_own_line() -> None:
    pool = [line("a", 1, up=False), line("b", 2, paused=True)]
    assert routing.choose(pool, preferred="a").name == "a"
    assert routing.choose(pool).name == "b"
    assert routing.fallback(pool, "a") is None


def test_the_fallback_is_the_next_usable_line_never_itself() -> None:
    pool = [line("a", 9), line("b", 5, up=False), line("c", 1)]
    assert routing.fallback(pool, "a").name == "c"
    assert routing.fallback(pool, "c").name == "a"


def test_a_line_is_found_by_name_or_sender() -> None:
    pool = [line("op", sender="MYSHOP"), line("sim", sender="+33 6 12 34 56 78")]
    assert routing.find(pool, "op").name == "op"
    assert routing.find(pool, "myshop").name == "op"
    assert routing.find(pool, "33612345678").name == "sim"
    assert routing.find(pool, "nobody") is None
    assert routing.find(pool, "  ") is None


def test_left_is_the_tightest_period() -> None:
    one = line(
        "a", limits={Period.HOUR: 100, Period.DAY: 500}, used={Period.HOUR: 90, Period.DAY: 495}
    )
    assert one.left() == 5
    assert line("b").left() is None
    assert line("c", limits={Period.MINUTE: 3}, used={Period.MINUTE: 7}).left() == 0


@given(
    st.lists(st.tuples(st.integers(-5, 5), st.booleans(), st.booleans()), min_size=1, max_size=8)
)
def test_the_choice_is_usable_whenever_one_is(specs: list[tuple[int, bool, bool]]) -> None:
    pool = [line(f"l{i}", p, up=up, paused=paused) for i, (p, up, paused) in enumerate(specs)]
    chosen = routing.choose(pool)
    usable = [x for x in pool if x.usable]
    if usable:
        assert chosen.usable
        assert chosen.routing.priority == max(x.routing.priority for x in usable)
    else:
        assert chosen is not None  # waits on a line rather than vanishing


def test_the_watch_judges_only_from_its_minimum() -> None:
    t = Thresholds(window=50, minimum=20, failed_percent=50, unknown_percent=20, report_delay=600)
    assert routing.judge(routing.health(["failed"] * 19, []), t) is None
    assert routing.judge(routing.health(["failed"] * 10 + ["ok"] * 10, []), t) is Verdict.FAILED
    assert routing.judge(routing.health(["failed"] * 9 + ["ok"] * 11, []), t) is None
    assert routing.judge(routing.health(["unknown"] * 4 + ["ok"] * 16, []), t) is Verdict.UNKNOWN
    slow = routing.health(["ok"] * 20, [700.0] * 11 + [1.0] * 9)
    assert routing.judge(slow, t) is Verdict.SLOW_REPORTS
    off = Thresholds(minimum=20, failed_percent=0, unknown_percent=0, report_delay=0)
    assert routing.judge(routing.health(["failed"] * 40, [9e9]), off) is None


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"priority": "high"}, "priority must be a whole number"),
        ({"priority": "5000"}, "priority is from -1000 to 1000"),
        ({"failover": "maybe"}, "failover is true or false"),
        ({"limit_day": "0"}, "limit_day is from 1"),
        ({"limit_month": "10k"}, "limit_month must be a whole number"),
    ],
)
def test_wrong_routing_options_are_refused(options: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        routing.parse_routing(dict(options))


def test_routing_options_are_taken_out_of_the_kinds_options() -> None:
    options = {
        "priority": "7",
        "failover": "true",
        "limit_day": "500",
        "limit_month": "10000",
        "rate": "5",
    }
    parsed = routing.parse_routing(options)
    assert parsed == LineRouting(7, True, {Period.DAY: 500, Period.MONTH: 10000})
    assert options == {"rate": "5"}


def test_the_window_keeps_the_last_results_and_turns_a_failed_receipt_into_a_failure() -> None:
    window = routing.Window(3)
    window.add(1, "ok", refs=("r1",), at=10.0)
    window.add(2, "failed")
    window.add(3, "ok", refs=("r3a", "r3b"), at=10.0)
    window.report("r1", failed=True, at=40.0)
    window.report("r3a", failed=False, at=12.0)
    window.report("unknown-ref", failed=True, at=99.0)  # not ours: ignored
    figures = window.health()
    assert (figures.results, figures.failed, figures.unknown) == (3, 2, 0)
    assert figures.report_delay == 16.0  # median of 30 and 2
    window.add(4, "unknown")  # the oldest (1) leaves the window
    assert list(window.outcomes) == [2, 3, 4]
    window.clear()
    assert window.health().results == 0
