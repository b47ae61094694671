from datetime import timedelta

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from smsdesk.core import spreadsheet
from smsdesk.core.errors import ServiceError, ServiceErrors
from smsdesk.dashboard import services, statistics
from smsdesk.messaging import stats


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html", services.figures(org=request.organisation))


def _period(request: HttpRequest) -> tuple:
    return stats.period(
        first=request.GET.get("from", "")[:40],
        last=request.GET.get("to", "")[:40],
        by=request.GET.get("by", "")[:20],
    )


@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    context: dict = {"groupings": statistics.groupings(), "columns": statistics.columns()}
    try:
        first, last, by = _period(request)
    except ServiceError as e:
        found = e.errors if isinstance(e, ServiceErrors) else [e]
        context |= {
            "errors": {err.field: err.message for err in found},
            "first": request.GET.get("from", "")[:40],
            "last": request.GET.get("to", "")[:40],
            "by": request.GET.get("by", "")[:20],
        }
        return render(request, "dashboard/statistics.html", context, status=400)
    report = stats.report(first=first, last=last, by=by, org=request.organisation)
    today = stats.local_day(timezone.now())
    context |= {
        "shown": True,
        "first_day": first,
        "last_day": last,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "by": by,
        "grouping": statistics.grouping_label(by),
        "presets": [
            (_("Last 7 days"), today - timedelta(days=6), today),
            (_("Last 30 days"), today - timedelta(days=29), today),
            (_("This month"), today.replace(day=1), today),
            (_("Last 12 months"), today - timedelta(days=364), today),
        ],
        **statistics.table(report),
    }
    return render(request, "dashboard/statistics.html", context)


@require_GET
def statistics_csv(request: HttpRequest) -> HttpResponse:
    try:
        first, last, by = _period(request)
    except ServiceError as e:
        return HttpResponse(str(e.message), status=400, content_type="text/plain; charset=utf-8")
    report = stats.report(first=first, last=last, by=by, org=request.organisation)
    response = StreamingHttpResponse(
        spreadsheet.chunks(statistics.csv_header(by), statistics.csv_rows(report)),
        content_type="text/csv; charset=utf-8",
    )
    name = f"statistics-{by}-{first.isoformat()}-{last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
