"""Pages of the recurring sends and the keyword auto-replies (issue 20): thin views on
messaging/recurring.py and messaging/autoreplies.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smsdesk.accounts import access
from smsdesk.core import bounds, tenancy
from smsdesk.core.errors import ServiceError
from smsdesk.core.forms import add_service_error
from smsdesk.directory import services as directory
from smsdesk.directory.models import Contact, Group
from smsdesk.messaging import autoreplies, errors, lines, recurring
from smsdesk.messaging.forms import (
    REPEAT_FIELDS,
    AutoReplyEditForm,
    AutoReplyForm,
    RecurrenceForm,
    repeat_context,
)
from smsdesk.messaging.models import Recurrence

# --- recurring sends ------------------------------------------------------------------------

SHOWN = 500  # recurring sends on the page (the API lists as many)


def recurring_list(request: HttpRequest) -> HttpResponse:
    rows = recurring.list_recurrences(org=tenancy.of_request(request), limit=SHOWN)
    return render(
        request,
        "messaging/recurring.html",
        {
            "rows": [
                (r, recurring.describe(r), access.may_act_on_message(request.user, r.author_id))
                for r in rows
            ]
        },
    )


def _recurrence(request: HttpRequest, recurrence_id: int) -> Recurrence:
    try:
        return recurring.get_recurrence(recurrence_id, org=tenancy.of_request(request))
    except errors.NotFound:
        raise Http404 from None


def recurring_edit(request: HttpRequest, recurrence_id: int) -> HttpResponse:
    rec = _recurrence(request, recurrence_id)
    record = recurring.rule_of(rec).as_record()
    initial = {
        "numbers": "\n".join(directory.display(n) for n in rec.targets.get("numbers", [])),
        "text": rec.body,
        "tag": rec.tag,
        "every": rec.every,
        "on": record.get("on", []),
        "day": record.get("day", ""),
        "repeat_at": record["at"],
        "until": record.get("until", ""),
        "times": record.get("times", ""),
    }
    form = RecurrenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            recurring.update_recurrence(
                rec.id,
                by=request.user,
                body=form.cleaned_data["text"],
                tag=form.cleaned_data["tag"],
                targets=form.targets(),
                repeat=recurring.check_repeat(**form.repeat_rule()),
                org=tenancy.of_request(request),
            )
        except ServiceError as e:
            add_service_error(form, e, REPEAT_FIELDS)
        else:
            messages.success(request, _("Recurring send saved: the next occurrences change."))
            return redirect("messaging:recurring")
    return render(
        request,
        "messaging/recurring_edit.html",
        {
            "form": form,
            "rec": rec,
            "describe": recurring.describe(rec),
            **_picked_targets(request, rec),
            **repeat_context(form),
        },
        status=400 if form.errors else 200,
    )


def _picked_targets(request: HttpRequest, rec: Recurrence) -> dict:
    """The contacts and groups of the form: as posted, or as stored."""
    if request.method == "POST":
        contacts = bounds.ids(request.POST.getlist("contacts"), limit=1000)
        groups = bounds.ids(request.POST.getlist("groups"), limit=100)
    else:
        contacts, groups = rec.targets.get("contacts", []), rec.targets.get("groups", [])
    org = tenancy.of_request(request)
    return {
        "picked_contacts": [
            (c.id, c.full_name) for c in Contact.objects.for_org(org).filter(id__in=contacts[:1000])
        ],
        "picked_groups": [
            (g.id, g.name) for g in Group.objects.for_org(org).filter(id__in=groups[:100])
        ],
    }


def _act(request: HttpRequest, action, done: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    try:
        action()
    except errors.NotFound:
        raise Http404 from None
    except ServiceError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(request, done)
    return redirect("messaging:recurring")


@require_POST
def recurring_pause(request: HttpRequest, recurrence_id: int) -> HttpResponse:
    paused = request.POST.get("paused") != "0"
    return _act(
        request,
        lambda: recurring.set_paused(
            recurrence_id, by=request.user, paused=paused, org=tenancy.of_request(request)
        ),
        _("Recurring send paused.") if paused else _("Recurring send resumed."),
    )


@require_POST
def recurring_delete(request: HttpRequest, recurrence_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: recurring.delete_recurrence(
            recurrence_id, by=request.user, org=tenancy.of_request(request)
        ),
        _("Recurring send deleted (the SMS already sent stay)."),
    )


# --- keyword auto-replies -------------------------------------------------------------------


def autoreply_list(request: HttpRequest) -> HttpResponse:
    form = AutoReplyForm(request.POST or None)
    if request.method == "POST":
        if not access.may_administer(request.user):
            raise PermissionDenied(_(autoreplies.ADMIN_ONLY))
        if form.is_valid():
            try:
                data = form.cleaned_data
                org = tenancy.of_request(request)
                group = directory.lookup_group(data["group"], org=org).id if data["group"] else None
                rule = autoreplies.create_rule(
                    by=request.user,
                    keyword=data["keyword"],
                    match=data["match"],
                    text=data["text"],
                    delay_minutes=data["delay_minutes"],
                    gateway=data["gateway"],
                    group=group,
                    tag=data["tag"],
                    org=org,
                )
            except ServiceError as e:
                add_service_error(form, e, {"groups": "group"})
            else:
                messages.success(
                    request, _("Auto-reply to « %(keyword)s » saved.") % {"keyword": rule.keyword}
                )
                return redirect("messaging:autoreplies")
    return render(
        request,
        "messaging/autoreplies.html",
        {
            "form": form,
            "rules": autoreplies.list_rules(org=tenancy.of_request(request)),
            "lines": lines.lines_of(tenancy.of_request(request)),
            "may_edit": access.may_administer(request.user),
        },
        status=400 if form.errors else 200,
    )


def autoreply_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Edit a rule in place (administrators): its order and its answers' delays stay."""
    org = tenancy.of_request(request)
    try:
        rule = autoreplies.get_rule(rule_id, org=org)
    except errors.NotFound:
        raise Http404 from None
    if not access.may_administer(request.user):
        raise PermissionDenied(_(autoreplies.ADMIN_ONLY))
    initial = {
        "keyword": rule.keyword,
        "match": rule.match,
        "text": rule.text,
        "delay_minutes": str(rule.delay_minutes),
        "gateway": rule.gateway,
        "group": rule.group.name if rule.group else "",
        "tag": rule.tag,
        "active": rule.active,
    }
    form = AutoReplyEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = directory.lookup_group(data["group"], org=org).id if data["group"] else None
            autoreplies.update_rule(
                rule.id,
                by=request.user,
                org=org,
                keyword=data["keyword"],
                match=data["match"],
                text=data["text"],
                delay_minutes=data["delay_minutes"],
                gateway=data["gateway"],
                group=group,
                tag=data["tag"],
                active=data["active"],
            )
        except ServiceError as e:
            add_service_error(form, e, {"groups": "group"})
        else:
            messages.success(
                request, _("Auto-reply to « %(keyword)s » saved.") % {"keyword": data["keyword"]}
            )
            return redirect("messaging:autoreplies")
    return render(
        request,
        "messaging/autoreply_edit.html",
        {"form": form, "rule": rule, "lines": lines.lines_of(org)},
        status=400 if form.errors else 200,
    )


@require_POST
def autoreply_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        autoreplies.move_rule(
            rule_id,
            by=request.user,
            up=request.POST.get("up") == "1",
            org=tenancy.of_request(request),
        )
    except errors.NotFound:
        raise Http404 from None
    except ServiceError as e:
        raise PermissionDenied(str(e.message)) from None
    return redirect("messaging:autoreplies")


@require_POST
def autoreply_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        autoreplies.delete_rule(rule_id, by=request.user, org=tenancy.of_request(request))
    except errors.NotFound:
        raise Http404 from None
    except ServiceError as e:
        raise PermissionDenied(str(e.message)) from None
    messages.success(request, _("Auto-reply deleted."))
    return redirect("messaging:autoreplies")


@require_POST
def autoreply_test(request: HttpRequest) -> HttpResponse:
    """The test box (an htmx fragment): which rule answers this text, and what; no SMS."""
    text = request.POST.get("sample", "")[:2000]
    keyword = autoreplies.reserved_keyword(text) if text.strip() else None
    trial = (
        autoreplies.try_text(text, org=tenancy.of_request(request))
        if text.strip() and keyword is None
        else None
    )
    return render(
        request,
        "messaging/_autoreply_test.html",
        {"text": text, "trial": trial, "keyword": keyword},
    )
