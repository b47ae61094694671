from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from smsdesk.accounts import access
from smsdesk.core import tenancy
from smsdesk.core.errors import ServiceError
from smsdesk.core.lists import Column, paginate, search_text, sort_order, table_page
from smsdesk.directory import services as directory
from smsdesk.directory.templatetags.directory import peer_link
from smsdesk.optout import services
from smsdesk.optout.forms import AddNumberForm, RemoveNumberForm
from smsdesk.optout.models import OptOut, OptOutEvent, Source


def _columns() -> list[Column]:
    return [
        # the unique number and the index optout_recent
        Column(_("Number"), "number", ("number",)),
        Column(_("Date"), "date", ("created_at", "id")),
        Column(_("How")),
        Column(_("By")),
        Column(_("Message")),
    ]


def _search(qs, q: str, org):  # type: ignore[no-untyped-def]
    return qs.filter(directory.number_search(q, "number", org=org))


def stop_list(request: HttpRequest) -> HttpResponse:
    q = search_text(request)
    mine = OptOut.objects.for_org(tenancy.of_request(request))
    qs = directory.with_names(mine.select_related("by"), "number")
    if q:
        qs = _search(qs, q, tenancy.of_request(request))
    columns = _columns()
    context = paginate(request, qs, sort_order(request, columns, "-date"))
    entries = list(context["page"])
    history = services.history_of((e.number for e in entries), org=tenancy.of_request(request))
    for e in entries:
        e.history = history.get(e.number, [])
    return render(
        request,
        "optout/list.html",
        {"q": q, "columns": columns, "entries": entries, **context},
    )


def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    qs = OptOut.objects.for_org(tenancy.of_request(request)).order_by("created_at", "id")
    if q := search_text(request):
        qs = _search(qs, q, tenancy.of_request(request))
    response = StreamingHttpResponse(services.export_rows(qs), content_type="text/csv")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="sms-stop-{stamp}.csv"'
    return response


def history(request: HttpRequest) -> HttpResponse:
    return table_page(
        request,
        title=_("STOP SMS history"),
        intro=_("Every change of the STOP list, kept for good: nobody can edit it."),
        queryset=directory.with_names(
            OptOutEvent.objects.for_org(tenancy.of_request(request)), "number"
        ),
        search=lambda qs, q: _search(qs, q, tenancy.of_request(request)),
        columns=[
            # indexes optout_event_recent and optout_event_number
            Column(_("Date"), "date", ("at", "id")),
            Column(_("Number"), "number", ("number", "at", "id")),
            Column(_("Change")),
            Column(_("How")),
            Column(_("By")),
            Column(_("Reason or message")),
        ],
        default_sort="-date",
        row=lambda e: [
            e.at,
            peer_link(e.number, e.contact_name),
            e.get_action_display(),
            e.get_source_display(),
            e.by_name or "—",
            e.reason or e.text,
        ],
        empty=_("No change yet."),
    )


def _require_admin(request: HttpRequest) -> None:
    if not access.is_admin(request.user):
        raise PermissionDenied(_("Only an administrator can change the STOP list."))


def add_number(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = AddNumberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.add_number(
                form.cleaned_data["number"],
                by=request.user,
                org=tenancy.of_request(request),
                source=Source.MANUAL,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(
                request,
                _("%(number)s is on the STOP list: it will not be texted any more.")
                % {"number": entry.number},
            )
            return redirect("optout:list")
    status = 400 if form.errors else 200
    return render(request, "optout/add.html", {"form": form}, status=status)


def remove_number(request: HttpRequest, entry_id: int) -> HttpResponse:
    """A confirmation page (with the reason to give), then the removal."""
    _require_admin(request)
    entry = get_object_or_404(OptOut.objects.for_org(tenancy.of_request(request)), id=entry_id)
    form = RemoveNumberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.remove_number(
                entry.number,
                by=request.user,
                reason=form.cleaned_data["reason"],
                org=tenancy.of_request(request),
            )
        except ServiceError as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(
                request,
                _("%(number)s is no longer on the STOP list: it can be texted again.")
                % {"number": entry.number},
            )
            return redirect("optout:list")
    status = 400 if form.errors else 200
    context = {"form": form, "entry": entry}
    return render(request, "optout/remove.html", context, status=status)


MAX_CHECKED = 100_000


@require_POST
def check_numbers(request: HttpRequest) -> HttpResponse:
    """For the New SMS page, before saving: how many of the typed numbers are on the list."""
    raw = request.POST.get("numbers", "")[:2_000_000]
    typed = [n for n in raw.replace(",", "\n").replace(";", "\n").splitlines() if n.strip()]
    count = services.count_blocked(typed[:MAX_CHECKED], org=tenancy.of_request(request))
    text = ""
    if count:
        text = ngettext(
            "%(count)d of these numbers is on the STOP list: it will not get this SMS.",
            "%(count)d of these numbers are on the STOP list: they will not get this SMS.",
            count,
        ) % {"count": count}
    return render(request, "optout/_blocked_count.html", {"text": text, "count": count})
