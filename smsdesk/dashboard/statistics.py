"""The Statistics page (*Statistiques*), its CSV and the API's `/stats`: the maintained
counters (`messaging.stats.report`) over a chosen period, grouped by day, week, month, line,
tag or user. One query over the counter tables, whatever the number of messages
(bench/stats.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from django.utils import formats, numberformat
from django.utils.formats import get_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from smsdesk.messaging import stats

E = stats.Event
By = stats.By


def columns() -> list[tuple[str, str]]:
    """(key, heading) of the figures (`stats.FIGURES`), in the page's and the CSV's order."""
    headings = [
        ("sent", _("Sent")),
        ("sent_parts", _("SMS parts sent")),
        ("delivered", _("Delivered")),
        ("failed", _("Failed")),
        ("unknown", _("Unknown")),
        ("blocked", _("Blocked (STOP)")),
        ("received", _("Received")),
        ("delivery_rate", _("Delivery rate")),
    ]
    assert tuple(k for k, _h in headings) == stats.FIGURES
    return headings


def grouping_label(by: str) -> str:
    return {
        By.DAY: _("Day"),
        By.WEEK: _("Week"),
        By.MONTH: _("Month"),
        By.LINE: _("Line"),
        By.TAG: _("Tag"),
        By.USER: _("User"),
    }[By(by)]


def groupings() -> list[tuple[str, str]]:
    return [(b.value, grouping_label(b)) for b in By]


def row_label(row: stats.Row, by: str) -> str:
    """What a row is called on the page and in the CSV."""
    if by in (By.DAY, By.WEEK):
        day = date.fromisoformat(row.key)
        shown = formats.date_format(day, "SHORT_DATE_FORMAT")
        return _("week of %(day)s") % {"day": shown} if by == By.WEEK else shown
    if by == By.MONTH:
        return formats.date_format(date.fromisoformat(row.key + "-01"), "YEAR_MONTH_FORMAT")
    if by == By.LINE:
        return row.key or pgettext("line", "none (blocked before any line)")
    if by == By.TAG:
        return row.label or pgettext("tag", "no tag")
    if by == By.USER:
        if not row.key:
            return pgettext("user", "none (received, automatic)")
        return row.label or _("deleted user #%(id)s") % {"id": row.key}
    return row.key


def _number_text() -> Callable[[int], str]:
    """What the template shows for a number (Django's `localize`: the language's thousand
    separator), its formats read once per page and each value formatted once: a year by
    day is 2,900 numbers, most of them repeated, and formatting them one by one in the
    template took most of the page's time (bench/RESULTS.md, issue 16/20 plans)."""
    lang = get_language()
    decimal = get_format("DECIMAL_SEPARATOR", lang, use_l10n=True)
    grouping = get_format("NUMBER_GROUPING", lang, use_l10n=True)
    thousand = get_format("THOUSAND_SEPARATOR", lang, use_l10n=True)
    done: dict[int, str] = {}

    def text(value: int) -> str:
        shown = done.get(value)
        if shown is None:
            shown = done[value] = numberformat.format(
                value, decimal, None, grouping, thousand, use_l10n=True
            )
        return shown

    return text


def _cells(rows: list[dict]) -> None:
    """Each row's figure cells as HTML (`cells`), as the template wrote them: a year by day
    is 365 rows of 8 cells, and the template's nodes (a variable, a localized number, an
    escape and a translated heading per cell) took 200 ms of the page at a million messages
    (bench/RESULTS.md, issue 16/20 plans). Here each heading is escaped once, each distinct
    number formatted and escaped once."""
    number = _number_text()
    shown: dict[int, str] = {}
    opening = {
        key: format_html('<td class="text-end" data-label="{}">', heading)
        for key, heading in columns()
    }

    def cell(key: str, value: int | None) -> str:
        if value is None:  # a rate of nothing sent
            return f"{opening[key]}—</td>"
        text = shown.get(value)
        if text is None:
            text = shown[value] = str(conditional_escape(number(value)))
        if key == "delivery_rate":
            text += " %"
        return f"{opening[key]}{text}</td>"

    for row in rows:
        row["cells"] = mark_safe(  # noqa: S308 (each part escaped above)
            "\n      ".join(cell(key, row[key]) for key in stats.FIGURES)
        )


def table(report: stats.Report) -> dict:
    """The page's rows (each with its `cells` as HTML), their total and the chart's data."""
    rows = [{"key": r.key, "label": row_label(r, report.by), **r.figures()} for r in report.rows]
    _cells(rows)
    chart_series = [
        ("sent_parts", _("SMS parts sent")),
        ("delivered", _("Delivered")),
        ("failed", _("Failed")),
        ("received", _("Received")),
    ]
    chart = {
        "horizontal": report.by not in stats.TIME_GROUPINGS,
        "labels": [r["label"] for r in rows],
        "series": [{"label": label, "data": [r[key] for r in rows]} for key, label in chart_series],
    }
    return {"rows": rows, "total": report.total().figures(), "chart": chart}


def csv_rows(report: stats.Report) -> Iterator[list[object]]:
    for r in report.rows:
        f = r.figures()
        yield [r.key, row_label(r, report.by), *("" if v is None else v for v in f.values())]


def csv_header(by: str) -> list[str]:
    return [_("Key"), grouping_label(by), *(heading for _key, heading in columns())]
