"""The Journal (audit log) page for administrators: searchable, paged like every list
(core/lists.py), filtered by action and by user, exported as CSV."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from smsdesk.accounts.access import admin_required
from smsdesk.accounts.models import Organisation
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action, Entry
from smsdesk.core import spreadsheet
from smsdesk.core.lists import Column, Order, keyset_chunks, search_text, table_page


def _filtered(request: HttpRequest):  # type: ignore[no-untyped-def]
    """An organisation's administrators read their organisation's entries; the platform
    administrator (outside any organisation) the platform's own."""
    action = request.GET.get("action", "")
    org = getattr(request, "organisation", None)
    return audit.entries(
        org=org if org is not None else audit.PLATFORM,
        action=action if action in Action.values else "",
        actor=request.GET.get("actor", "")[:150],
    )


def _change(e: Entry) -> str:
    """What changed, in one line: `key: before → after` (or the value alone)."""
    before = e.before if isinstance(e.before, dict) else {}
    after = e.after if isinstance(e.after, dict) else {}
    parts = []
    for key in sorted(set(before) | set(after)):
        if key in before and key in after:
            parts.append(f"{key}: {before[key]} → {after[key]}")
        else:
            parts.append(f"{key}: {after.get(key, before.get(key))}")
    return "; ".join(parts)[:300]


def _may_read(view):  # type: ignore[no-untyped-def]
    """An organisation's administrators, and the platform administrator."""

    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if getattr(request.user, "is_platform", False):
            return view(request, *args, **kwargs)  # type: ignore[no-any-return]
        return admin_required(view)(request, *args, **kwargs)  # type: ignore[no-any-return]

    return wrapper


@_may_read
def journal(request: HttpRequest) -> HttpResponse:
    return table_page(
        request,
        title=_("Journal"),
        intro=_(
            "Who did what, when and from where: log-ins, sends, changes. Entries cannot be "
            "changed or deleted."
        ),
        queryset=_filtered(request),
        search=lambda qs, q: qs.filter(target__icontains=q) | qs.filter(actor_name__icontains=q),
        columns=[
            Column(_("Date"), "date", ("at", "id")),  # index audit_recent
            Column(_("Who")),
            Column(_("Action")),
            Column(_("On")),
            Column(_("Change")),
            Column(_("Address")),
        ],
        default_sort="-date",
        row=lambda e: [
            e.at,
            (e.actor_name or _("platform"))
            + (f" ({e.get_via_display()})" if e.via != "web" else ""),
            e.get_action_display(),
            e.target,
            _change(e),
            e.ip,
        ],
        empty=_("Nothing recorded yet."),
        template="accounts/journal.html",
        extra={
            "actions": Action.choices,
            "action": request.GET.get("action", ""),
            "filters": [(k, request.GET[k]) for k in ("action", "actor") if request.GET.get(k)],
            "retention": _retention(getattr(request, "organisation", None)),
        },
    )


def _retention(org: Organisation | None) -> str:
    """The organisation's data retention, in one sentence (set by the platform
    administrator: retention/services.py), read-only."""
    if org is None:
        return ""
    months = org.retention_months or settings.SMSDESK_RETENTION_MONTHS
    if not months:
        return _("Messages, calls and journal entries are kept for ever.")
    if org.retention_mode == Organisation.Retention.MASK:
        text = _(
            "Messages and calls older than %(n)d months have their text blanked and their "
            "number masked; journal entries that old are deleted."
        )
    else:
        text = _("Messages, calls and journal entries older than %(n)d months are deleted.")
    return text % {"n": months}


HEADER = (
    "date",
    "actor",
    "via",
    "action",
    "target_type",
    "target_id",
    "target",
    "before",
    "after",
    "ip",
)


def csv_rows(entries):  # type: ignore[no-untyped-def]
    import json

    order = Order("date", ("at", "id"), descending=True)
    for chunk in keyset_chunks(entries, order):
        for e in chunk:
            yield [
                timezone.localtime(e.at).isoformat(timespec="seconds"),
                e.actor_name,
                e.via,
                e.action,
                e.target_type,
                e.target_id,
                e.target,
                json.dumps(e.before, ensure_ascii=False) if e.before is not None else "",
                json.dumps(e.after, ensure_ascii=False) if e.after is not None else "",
                e.ip,
            ]


@require_GET
@_may_read
def journal_export(request: HttpRequest) -> StreamingHttpResponse:
    entries = _filtered(request)
    q = search_text(request)
    if q:
        entries = entries.filter(target__icontains=q) | entries.filter(actor_name__icontains=q)
    audit.record(Action.EXPORT, ("audit", ""), label=_("Journal"))
    response = StreamingHttpResponse(
        spreadsheet.chunks(HEADER, csv_rows(entries)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="journal.csv"'
    return response
