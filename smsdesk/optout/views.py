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
from smsdesk.directory import imports, uploads
from smsdesk.directory import services as directory
from smsdesk.directory.templatetags.directory import peer_link
from smsdesk.optout import services
from smsdesk.optout.forms import AddNumberForm, ConfirmationForm, ImportForm, RemoveNumberForm
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
    wanted = services.confirmation(org=tenancy.of_request(request))
    return render(
        request,
        "optout/list.html",
        {
            "q": q,
            "columns": columns,
            "entries": entries,
            "confirmation": wanted,
            "confirmation_form": _confirmation_form(wanted),
            **context,
        },
    )


def _confirmation_form(wanted: services.Confirmation) -> ConfirmationForm:
    return ConfirmationForm(
        initial={"enabled": wanted.enabled, "text": wanted.text, "delay_hours": wanted.delay_hours}
    )


def confirmation(request: HttpRequest) -> HttpResponse:
    """The confirmation of a STOP, changed by an administrator (GET: its form alone)."""
    _require_admin(request)
    form = ConfirmationForm(request.POST or None)
    if request.method != "POST":
        form = _confirmation_form(services.confirmation(org=tenancy.of_request(request)))
    elif form.is_valid():
        try:
            services.set_confirmation(
                by=request.user, org=tenancy.of_request(request), **form.cleaned_data
            )
        except ServiceError as e:
            for err in getattr(e, "errors", [e]):
                form.add_error(err.field if err.field in form.fields else None, err.message)
        else:
            messages.success(request, _("The confirmation of a STOP is saved."))
            return redirect("optout:list")
    status = 400 if form.errors else 200
    return render(request, "optout/confirmation.html", {"form": form}, status=status)


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
                never=form.cleaned_data["never"],
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


PREVIEW_LINES = 100  # rejected lines shown; the counts cover them all


def import_numbers(request: HttpRequest) -> HttpResponse:
    """Import a CSV of numbers: choose the file (its preview: numbers read, already on the
    list, each rejected line with why), then confirm. The file waits between the two in
    directory/uploads.py, for this user only."""
    _require_admin(request)
    form = ImportForm(request.POST or None)
    context: dict = {"form": form, "max_size": imports.max_size_shown()}
    user_id = request.user.pk
    assert user_id is not None
    if request.method == "POST" and form.is_valid():
        token = request.POST.get("token", "")[:64]
        upload = request.FILES.get("file")
        try:
            if upload is not None:  # chosen: the preview
                if (upload.size or 0) > imports.max_bytes():
                    raise imports.too_big(upload.size or 0)
                data = upload.read()
                plan = services.plan_import(data, org=tenancy.of_request(request))
                token = uploads.save(data, user_id=user_id, filename=upload.name or "")
                context |= _preview(plan, token)
            elif token:  # confirmed
                data, _name = uploads.load(token, user_id=user_id)
                plan = services.import_numbers(
                    data,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    org=tenancy.of_request(request),
                )
                uploads.discard(token, user_id=user_id)
                messages.success(
                    request,
                    ngettext(
                        "%(count)d number put on the STOP list.",
                        "%(count)d numbers put on the STOP list.",
                        len(plan.new),
                    )
                    % {"count": len(plan.new)},
                )
                return redirect("optout:list")
            else:
                form.add_error(None, _("Choose a CSV file of numbers."))
        except ServiceError as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
    status = 400 if form.errors else 200
    return render(request, "optout/import.html", context, status=status)


def _preview(plan: services.ImportPlan, token: str) -> dict:
    return {
        "token": token,
        "plan": plan,
        "summary": imports.recipients_line(plan.file),
        "rejected": [imports.rejected_line(r) for r in plan.file.rejected[:PREVIEW_LINES]],
        "more_rejected": max(0, len(plan.file.rejected) - PREVIEW_LINES),
    }
