"""/api/v1/stats: the Statistics page's figures, from the maintained counters."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Field, Query, Router
from pydantic import BaseModel

from smsdesk.api.schemas import ErrorOut
from smsdesk.messaging import stats

router = Router(tags=["statistics"])

# Plain pydantic models, not ninja's Schema: a year by day is 366 rows, and Schema's
# validator (which reads each field through Django-aware getters) took half of the
# answer's time (bench/RESULTS.md, issue 16/20 plans). The rows are dicts already.


class Figures(BaseModel):
    sent: int = Field(..., description="SMS handed to the network")
    sent_parts: int = Field(..., description="SMS parts handed to the network (what is billed)")
    delivered: int
    failed: int
    unknown: int = Field(..., description="may or may not have gone out (the worker died)")
    blocked: int = Field(..., description="not sent: the number is on the STOP list")
    received: int
    delivery_rate: int | None = Field(..., description="delivered ÷ sent, whole percent")


class StatsRow(Figures):
    key: str = Field(
        ...,
        description="the day (YYYY-MM-DD), the line, the tag in lower case or the user id; "
        '"" for none',
    )
    label: str = Field(..., description="the tag as first written, the user's name")


class StatsOut(BaseModel):
    from_: date = Field(..., alias="from")
    to: date
    by: str
    rows: list[StatsRow]
    total: Figures


@router.get(
    "",
    response={200: StatsOut, 400: ErrorOut, 401: ErrorOut, 422: ErrorOut},
    summary="Statistics over a period, by day, week, month, line, tag or user",
    by_alias=True,
)
def get_stats(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    from_: str = Query("", alias="from", max_length=10, description="first day, YYYY-MM-DD"),
    to: str = Query("", max_length=10, description="last day, YYYY-MM-DD (included)"),
    by: str = Query("day", max_length=5, description="day, week, month, line, tag or user"),
):
    """Counted on the day of each event, in the installation's time zone (sent the day the
    SMS was handed over, delivered or failed the day its report came). Default: the last 30
    days by day."""
    first, last, grouped = stats.period(first=from_, last=to, by=by)
    report = stats.report(first=first, last=last, by=grouped, org=request.organisation)
    user_names = grouped == stats.By.USER
    return {
        "from": first,
        "to": last,
        "by": grouped,
        "rows": [
            {
                "key": r.key,
                "label": r.label if (user_names or grouped == "tag") else "",
                **r.figures(),
            }
            for r in report.rows
        ],
        "total": report.total().figures(),
    }
