from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from smsdesk.core import once, tenancy
from smsdesk.core.display import when
from smsdesk.core.errors import ServiceError
from smsdesk.core.forms import add_service_error
from smsdesk.core.lists import Column, Order, paginate, search_text, sort_order
from smsdesk.directory import imports, uploads
from smsdesk.directory import services as directory
from smsdesk.directory.models import Contact, ContactField, Group
from smsdesk.messaging import (
    actions,
    campaigns,
    errors,
    exports,
    filters,
    links,
    notifications,
    recurring,
    routing,
    sending,
)
from smsdesk.messaging.forms import REPEAT_FIELDS, NewSmsForm, ReplyForm, repeat_context
from smsdesk.messaging.models import Conversation, Message
from smsdesk.messaging.recipients import resolve_recipients
from smsdesk.optout import services as optout
from smsdesk.sms import gsm7, typography

FORM_FIELDS = {
    "text": "text",
    "send_at": "send_at",
    "to": "numbers",
    "tag": "tag",
    "from": "line",
    "gateway": "line",
    "flash": "flash",
}


def new_sms(request: HttpRequest) -> HttpResponse:
    org = tenancy.of_request(request)
    signed = getattr(request.user, "text_box_start", "")  # logged in: LoginRequiredMiddleware
    form = NewSmsForm(request.POST or None, initial={"text": signed})
    csv_context: dict = {}
    if request.method == "POST" and form.is_valid() and form.cleaned_data["repeat"]:
        return _new_recurring(request, form)
    if request.method == "POST" and form.is_valid():
        try:
            token, recipient_file = recipient_file_of(request)
            csv_context = _csv_context(request, token, recipient_file)
            with transaction.atomic():
                once.claim(request)  # the same form posted twice sends once
                campaign = sending.create_campaign(
                    author=request.user,
                    org=tenancy.of_request(request),
                    body=form.cleaned_data["text"],
                    targets=form.targets(),
                    send_at=form.cleaned_data["send_at"],
                    commercial=form.cleaned_data["commercial"],
                    tag=form.cleaned_data["tag"],
                    recipient_file=recipient_file,
                    smart_encoding=form.cleaned_data["smart_encoding"],
                    gateway=form.cleaned_data["line"] or None,
                    flash=form.cleaned_data["flash"],
                )
        except once.AlreadySubmitted as e:
            messages.info(request, e.message)
            return redirect("messaging:sent")
        except ServiceError as e:
            add_service_error(form, e, FORM_FIELDS)
        else:
            uploads.discard(token)
            count = campaign.recipient_count
            messages.success(
                request,
                ngettext(
                    "SMS saved for %(count)d recipient.",
                    "SMS saved for %(count)d recipients.",
                    count,
                )
                % {"count": count},
            )
            if warning := sending.blocked_warning(campaign):
                messages.warning(request, warning)
            if campaign.commercial and campaign.send_at > timezone.now():
                messages.info(request, _commercial_when(campaign.send_at))
            return redirect("messaging:sent")
    return render(
        request,
        "messaging/new.html",
        {
            "form": form,
            **picked_targets(request, form),
            "tags": campaigns.tag_usage(org=tenancy.of_request(request)),
            "custom_fields": ContactField.objects.for_org(tenancy.of_request(request)),
            "max_size": imports.max_size_shown(),
            "lines": routing.line_names(org) if routing.several(org) else [],
            **csv_context,
            **repeat_context(form),
        },
        status=400 if form.errors else 200,
    )


def _new_recurring(request: HttpRequest, form: NewSmsForm) -> HttpResponse:
    """New SMS with "Repeat this send": a recurring send, each occurrence a campaign."""
    try:
        if request.FILES.get("recipients_file") or request.POST.get("csv_token"):
            raise errors.InvalidRepeat(
                _("A recurring send cannot use a CSV file: choose numbers, contacts or groups."),
                field="text",
            )
        if form.cleaned_data["flash"]:
            raise errors.FlashUnsupported(
                _("A recurring send cannot be a flash SMS: untick one of the two."),
                field="flash",
            )
        with transaction.atomic():
            once.claim(request)
            rec = recurring.create_recurrence(
                author=request.user,
                org=tenancy.of_request(request),
                body=form.cleaned_data["text"],
                targets=form.targets(),
                repeat=recurring.check_repeat(**form.repeat_rule()),
                commercial=form.cleaned_data["commercial"],
                tag=form.cleaned_data["tag"],
                line=form.cleaned_data["line"] or None,
            )
    except once.AlreadySubmitted as e:
        messages.info(request, e.message)
        return redirect("messaging:recurring")
    except ServiceError as e:
        add_service_error(form, e, {**FORM_FIELDS, **REPEAT_FIELDS})
        return render(
            request,
            "messaging/new.html",
            {
                "form": form,
                **picked_targets(request, form),
                "tags": campaigns.tag_usage(org=tenancy.of_request(request)),
                "custom_fields": ContactField.objects.for_org(tenancy.of_request(request)),
                "max_size": imports.max_size_shown(),
                **repeat_context(form),
            },
            status=400,
        )
    messages.success(
        request,
        _("Recurring send saved. Next occurrence: %(when)s.")
        % {"when": date_format(timezone.localtime(rec.next_at), "l j F Y, H:i")},
    )
    return redirect("messaging:recurring")


def recipient_file_of(
    request: HttpRequest, *, chosen_again: bool = False
) -> tuple[str, imports.RecipientFile | None]:
    """The file of recipients this New SMS carries: uploaded before (its `csv_token`, bound
    to this user by directory/uploads.py) or, from a browser without JavaScript, with the
    form itself. `chosen_again`: a file just chosen replaces the one uploaded before."""
    token = request.POST.get("csv_token", "")[:64]
    upload = request.FILES.get("recipients_file")
    user_id = request.user.pk
    assert user_id is not None  # logged in: LoginRequiredMiddleware
    if upload is not None and (not token or chosen_again):
        size = upload.size or 0
        if size > imports.max_bytes():
            raise imports.too_big(size)
        data = upload.read()
        recipients = imports.read_recipients(data, name=upload.name or "")
        # the file chosen before on this form is replaced, not kept a day beside it
        kept = uploads.save(data, user_id=user_id, filename=upload.name or "", replacing=token)
        return kept, recipients
    if not token:
        return "", None
    data, name = uploads.load(token, user_id=user_id)
    return token, imports.read_recipients(data, name=name)


PREVIEW_LINES = 100  # rejected and duplicate lines shown; the counts cover them all


def _csv_context(
    request: HttpRequest, token: str, recipient_file: imports.RecipientFile | None
) -> dict:
    if recipient_file is None:
        return {}
    return {
        "csv_token": token,
        "csv": recipient_file,
        "csv_summary": imports.recipients_line(recipient_file),
        "csv_rejected": recipient_file.rejected[:PREVIEW_LINES],
        "csv_duplicates": recipient_file.duplicates[:PREVIEW_LINES],
        "csv_blocked": len(
            optout.blocked_among(recipient_file.numbers, org=tenancy.of_request(request))
        ),
    }


@require_POST
def csv_upload(request: HttpRequest) -> HttpResponse:
    """New SMS, a file of recipients chosen: kept for this user (directory/uploads.py) and
    previewed as the contact import previews a file: lines accepted, each rejected line
    with its number and why, duplicates, the columns usable as fields."""
    if "recipients_file" not in request.FILES:
        return render(request, "messaging/_csv.html", {})
    try:
        context = _csv_context(request, *recipient_file_of(request, chosen_again=True))
    except ServiceError as e:
        return render(request, "messaging/_csv.html", {"csv_error": e.message}, status=400)
    response = render(request, "messaging/_csv.html", context)
    # after the swap: the summary and the preview then read the token it brings
    response["HX-Trigger-After-Settle"] = "csv-loaded"
    return response


def picked_targets(request: HttpRequest, form: NewSmsForm) -> dict:
    """What was typed and picked, to show again when the form comes back with an error."""
    if not form.is_bound:
        return {"number_fields": [""], "picked_contacts": [], "picked_groups": []}
    targets = form.targets()
    contacts = Contact.objects.for_org(tenancy.of_request(request)).filter(
        id__in=targets.contacts[:1000]
    )
    groups = Group.objects.for_org(tenancy.of_request(request)).filter(id__in=targets.groups[:100])
    fields = [f for f in cast(QueryDict, form.data).getlist("numbers")[:100]] or [""]
    return {
        "number_fields": fields,
        "picked_contacts": [(c.id, c.full_name) for c in contacts],
        "picked_groups": [(g.id, g.name) for g in groups],
    }


@require_POST
def summary(request: HttpRequest) -> HttpResponse:
    """Before saving: who gets the SMS once duplicates and STOP numbers are taken out."""
    form = NewSmsForm(request.POST)
    form.is_valid()
    targets = form.targets()
    try:
        _token, recipient_file = recipient_file_of(request)
    except ServiceError:
        recipient_file = None  # said beside the file field
    from_file = recipient_file.numbers if recipient_file else []
    chosen = targets.numbers or targets.contacts or targets.groups or from_file
    context: dict = {"empty": not chosen}
    if not context["empty"]:
        try:  # the send's own resolution: the counts shown are what the send will do
            resolved = resolve_recipients(
                targets=targets, recipient_file=recipient_file, org=tenancy.of_request(request)
            )
            if resolved.invalid:
                resolved.checked()  # raises what the send would say
            context["summary"] = resolved
        except ServiceError as e:
            context["error"] = e.message
    return render(request, "messaging/_summary.html", context)


@require_POST
def count(request: HttpRequest) -> HttpResponse:
    """The live "N characters, M SMS" line under the text, computed by the same code that
    the service uses, so the page and the server never disagree. For a commercial SMS it
    counts the opt-out mention too, and says when the SMS will go out."""
    text = request.POST.get("text", "")[:5000]
    commercial = bool(request.POST.get("commercial"))
    smart = typography.replace(text) if request.POST.get("smart_encoding") else None
    if smart is not None:
        text = smart.text  # counted as it will be sent
    when = ""
    if commercial:
        text = sending.commercial_text(text) if text.strip() else text
        send_at = NewSmsForm({"send_at": request.POST.get("send_at", "")[:40]})
        send_at.is_valid()
        try:  # the same bounds as the service (a far date is said on saving)
            due = sending.check_send_at(send_at.cleaned_data.get("send_at"), timezone.now())
        except ServiceError:
            due = None
        if due is not None:
            when = _commercial_when(sending.commercial_send_at(due))
    info = gsm7.analyse(text)
    context = {
        "info": info,
        "commercial": commercial,
        "when": when,
        "replaced": [_shown(r) for r in smart.replaced] if smart is not None else [],
    }
    return render(request, "messaging/_count.html", context)


def _shown(r: typography.Replacement) -> tuple[str, str]:
    """A replacement as the counter names it: invisible characters by a word."""
    if r.char.isspace():
        typed = _("space U+%(code)04X") % {"code": ord(r.char)}
    elif not r.char.isprintable() or r.char == "\u00ad":
        typed = _("invisible U+%(code)04X") % {"code": ord(r.char)}
    else:
        typed = r.char
    return typed, (r.by if r.by.strip() else (_("space") if r.by else _("nothing")))


def _commercial_when(send_at: datetime) -> str:
    if send_at <= timezone.now() + timedelta(minutes=1):
        return _("Commercial SMS: inside the allowed hours, it goes out now.")
    return _("Commercial SMS: it will go out on %(date)s (allowed hours).") % {
        "date": date_format(timezone.localtime(send_at), "DATETIME_FORMAT")
    }


def _list(
    request: HttpRequest,
    *,
    title: str,
    direction: str,
    status: str | None = None,
    export_url: str = "",
) -> HttpResponse:
    outbound = direction == Message.Direction.OUTBOUND
    # Each sort is served by an index ending with the id (msg_list, msg_peer): a deep page
    # reads one page of the index. No sort by status: the worker changes it, so it has no
    # index (house rule: status updates stay HOT on PostgreSQL); the column still shows it.
    columns = [
        Column(_("Date"), "date", ("created_at", "id")),
        Column(_("Recipient") if outbound else _("Sender"), "number", ("peer", "created_at", "id")),
        Column(_("Message")),
        Column(_("Status")),
    ]
    several_lines = routing.several(tenancy.of_request(request))
    if several_lines:  # which of the customer's numbers it went from / came to
        columns.append(Column(_("From (line)") if outbound else _("To (line)")))
    search = search_text(request)
    shown = _list_filters(request, outbound=outbound, status=status)
    qs = filters.message_list(
        org=tenancy.of_request(request),
        direction=direction,
        status=shown.get("status", status),
        search=search,
        since=filters.period_start(shown.get("period", ""), timezone.now()),
    )
    return render(
        request,
        "messaging/list.html",
        {
            "title": title,
            "q": search,
            "outbound": outbound,
            "columns": columns,
            "several_lines": several_lines,
            "export_url": export_url,
            # the Export button gives what the list shows: its search and filters
            "export_query": urlencode({**({"q": search} if search else {}), **shown}),
            "list_filters": list(shown.items()),
            "filter_text": _filter_text(shown),
            "search_hint": _(
                "A number, a name, or words of the text as written (fields such as "
                "{first_name} are not expanded)"
            ),
            **paginate(request, qs, sort_order(request, columns, "-date")),
        },
    )


LIST_STATUSES = (
    Message.Status.QUEUED,
    Message.Status.SCHEDULED,
    Message.Status.SENT,
    Message.Status.DELIVERED,
    Message.Status.FAILED,
    Message.Status.UNKNOWN,
    Message.Status.CANCELLED,
    Message.Status.BLOCKED,
)


def _list_filters(request: HttpRequest, *, outbound: bool, status: str | None) -> dict[str, str]:
    """The filters a home page figure opens a list with (`?status=failed&period=week`); any
    other value is ignored, the list shown whole."""
    shown = {}
    wanted = request.GET.get("status", "")
    if outbound and status is None and wanted in LIST_STATUSES:
        shown["status"] = wanted
    if request.GET.get("period", "") in filters.PERIODS:
        shown["period"] = request.GET["period"]
    return shown


def _filter_text(shown: dict[str, str]) -> str:
    parts = []
    if "status" in shown:
        parts.append(str(Message.Status(shown["status"]).label))
    period = shown.get("period")
    if period:
        parts.append(
            {"day": _("today"), "week": _("last 7 days"), "month": _("last 30 days")}[period]
        )
    return " · ".join(parts)


def sent(request: HttpRequest) -> HttpResponse:
    return _list(
        request,
        title=_("Sent SMS"),
        direction=Message.Direction.OUTBOUND,
        export_url=reverse("messaging:sent_export"),
    )


def received(request: HttpRequest) -> HttpResponse:
    return _list(
        request,
        title=_("Received SMS"),
        direction=Message.Direction.INBOUND,
        export_url=reverse("messaging:received_export"),
    )


@require_GET
def export(request: HttpRequest, direction: str) -> StreamingHttpResponse:
    """The Export button of Sent and Received: the list as CSV, with the page's search and
    filters (the status and period a home page figure opened it with)."""
    shown = _list_filters(request, outbound=direction == Message.Direction.OUTBOUND, status=None)
    response = StreamingHttpResponse(
        exports.csv_chunks(
            direction=direction,
            search=search_text(request),
            status=shown.get("status"),
            since=filters.period_start(shown.get("period", ""), timezone.now()),
            org=tenancy.of_request(request),
        ),
        content_type="text/csv; charset=utf-8",
    )
    name = exports.filename(direction)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def unread(request: HttpRequest) -> HttpResponse:
    return _list(
        request,
        title=_("Unread SMS"),
        direction=Message.Direction.INBOUND,
        status=Message.Status.UNREAD,
    )


def cancel(request: HttpRequest, message_id: int) -> HttpResponse:
    """GET: the confirmation step; POST: cancel."""
    if request.method != "POST":
        message = _message_of(request, message_id)
        return _confirm(
            request,
            message,
            title=_("Cancel an SMS"),
            question=_("Cancel this SMS to %(number)s? It will not be sent.")
            % {"number": directory.who(message.peer, org=message.organisation_id)},
            button=_("Cancel the SMS"),
        )
    return _act_on_message(
        request,
        lambda: actions.cancel_message(
            message_id, by=request.user, org=tenancy.of_request(request)
        ),
        _("The message was cancelled: it will not be sent."),
    )


def retry(request: HttpRequest, message_id: int) -> HttpResponse:
    """GET: the confirmation step (it says when the SMS may have arrived already); POST: retry."""
    if request.method != "POST":
        message = _message_of(request, message_id)
        return _confirm(
            request,
            message,
            title=_("Send an SMS again"),
            question=_("Send this SMS to %(number)s again?")
            % {"number": directory.who(message.peer, org=message.organisation_id)},
            detail=_("This message may already have reached the recipient. Send it again anyway?")
            if message.status == Message.Status.UNKNOWN
            else "",
            button=_("Send again"),
        )
    return _act_on_message(
        request,
        lambda: actions.retry_message(message_id, by=request.user, org=tenancy.of_request(request)),
        _("The message is queued again."),
    )


def requeue(request: HttpRequest, message_id: int) -> HttpResponse:
    """GET: the confirmation step (naming who, and when it will go); POST: put it back."""
    if request.method != "POST":
        message = _message_of(request, message_id)
        return _confirm(
            request,
            message,
            title=_("Put a cancelled SMS back in the queue"),
            question=_("Put this SMS to %(number)s back in the queue? It will be sent.")
            % {"number": directory.who(message.peer, org=message.organisation_id)},
            button=_("Put it back in the queue"),
        )
    return _act_on_message(
        request,
        lambda: actions.requeue_message(
            message_id, by=request.user, org=tenancy.of_request(request)
        ),
        _("The message is back in the queue."),
    )


def _message_of(request: HttpRequest, message_id: int) -> Message:
    """A message of the request's organisation (another's: 404, as a missing one)."""
    return get_object_or_404(Message.objects.for_org(tenancy.of_request(request)), id=message_id)


def _confirm(request: HttpRequest, message: Message, **context: object) -> HttpResponse:
    return render(
        request,
        "core/confirm.html",
        {"action": request.path, "back": _back(request), "body": message.body, **context},
    )


def _act_on_message(request: HttpRequest, action: Callable[[], Message], done: str) -> HttpResponse:
    """Cancel or retry from a list or a discussion, then go back there with the outcome."""
    try:
        message = action()
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        if message.status == Message.Status.BLOCKED:  # a retry to a number that said STOP
            messages.warning(request, _(message.error))
        else:
            messages.success(request, done)
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "") or request.GET.get("next", "")
    # a path of this site only: anything else would be read by redirect() as a view's name
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return reverse("messaging:sent")


def conversation_with(request: HttpRequest) -> HttpResponse:
    """The conversation with `?number=` (as stored), by its id: lists that show a number link
    here, so no URL path is ever built from a text a stranger chose."""
    number = request.GET.get("number", "")[:64]
    conversation = (
        Conversation.objects.for_org(tenancy.of_request(request)).filter(peer=number).first()
    )
    if conversation is None:  # a contact never texted yet: the first SMS starts it
        if not number:
            raise Http404
        messages.info(
            request, _("No SMS with %(number)s yet: write the first one.") % {"number": number}
        )
        return redirect("messaging:new")
    return redirect("messaging:conversation", conversation_id=conversation.id)


CONVERSATION_ORDER = Order("-date", ("last_at", "id"), descending=True)


def conversations(request: HttpRequest) -> HttpResponse:
    search = search_text(request)
    qs = Conversation.objects.for_org(tenancy.of_request(request))
    if search:
        found = directory.number_search(search, "peer", org=tenancy.of_request(request))
        # a tag (an auto-reply's "tag the discussion"), as a word: " rdv " in " rdv promo "
        tag = search.strip().lstrip("#")
        tagged = Q(tags__icontains=f" {tag} ") if tag and " " not in tag else Q(pk__in=[])
        qs = qs.filter(found | Q(last_body__icontains=search) | tagged)
    qs = directory.with_names(qs, "peer")
    context = paginate(request, qs, CONVERSATION_ORDER)  # index conv_recent
    return render(request, "messaging/conversations.html", {"q": search, **context})


def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = get_object_or_404(
        Conversation.objects.for_org(tenancy.of_request(request)), id=conversation_id
    )
    peer = conversation.peer
    history = list(
        Message.objects.for_org(tenancy.of_request(request))
        .filter(peer=peer)
        .select_related("cancelled_by", "retried_by")
        .order_by("-created_at", "-id")[:200]
    )
    history.reverse()
    unread = [m.id for m in history if m.status == Message.Status.UNREAD]
    if unread:  # reading an already read conversation writes nothing
        actions.mark_read(unread, org=tenancy.of_request(request))
    return render(
        request,
        "messaging/conversation.html",
        {
            "conversation": conversation,
            "peer": peer,
            "contact": Contact.objects.for_org(tenancy.of_request(request))
            .filter(number=peer)
            .first(),
            "history": history,
            "form": ReplyForm(),
            "several_lines": routing.several(tenancy.of_request(request)),
        },
    )


@require_POST
def reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = get_object_or_404(
        Conversation.objects.for_org(tenancy.of_request(request)), id=conversation_id
    )
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                once.claim(request)
                sending.create_campaign(
                    author=request.user,
                    org=tenancy.of_request(request),
                    body=form.cleaned_data["text"],
                    to=[conversation.peer],
                    personalise_text=False,  # a reply is what was typed, braces included
                    # no line given: the routing's rule, the line the correspondent last
                    # wrote to first (messaging/routing.py)
                    smart_encoding=form.cleaned_data["smart_encoding"],
                )
        except ServiceError as e:  # AlreadySubmitted too: said once, nothing sent again
            messages.error(request, e.message)
    else:
        messages.error(request, _("The reply is empty."))
    return redirect("messaging:conversation", conversation_id=conversation.id)


@require_GET
def inbound_notices(request: HttpRequest) -> JsonResponse:
    """The SMS received since `?after=<id>` for the notices of core/static/core/smsdesk.js;
    without `after`, only where to start. Reads only: nothing is marked read."""
    after = request.GET.get("after", "")
    newest = notifications.newest_id(
        org=tenancy.of_request(request)
    )  # read first: a row added meanwhile is for next time
    if not (after.isascii() and after.isdigit() and len(after) < 19):
        return _no_store(JsonResponse({"last": newest, "new": []}))
    found = notifications.inbound_between(int(after), newest, org=tenancy.of_request(request))
    shown = found[: notifications.MAX_NOTICES]
    names = directory.who_many((m.peer for m in shown), org=tenancy.of_request(request))
    return _no_store(
        JsonResponse(
            {
                "last": newest,
                "more": len(found) > len(shown),
                "new": [
                    {
                        "id": m.id,
                        "from": m.peer,
                        "name": names[m.peer],  # "Hélène DURAND (06 11 11 11 11)"
                        "text": Truncator(m.body).chars(notifications.PREVIEW_CHARS),
                        "at": when(m.created_at),
                        "url": links.conversation_url(m.peer),
                    }
                    for m in shown
                ],
            }
        )
    )


_Response = TypeVar("_Response", bound=HttpResponse)


def _no_store(response: _Response) -> _Response:
    response["Cache-Control"] = "no-store"
    return response
