"""Campagnes: the list of sends, a page per send with its progress, and its actions."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from smsdesk.core import once, tenancy
from smsdesk.core.display import absolute
from smsdesk.core.errors import ServiceError
from smsdesk.core.forms import add_service_error
from smsdesk.core.lists import Column, Order, paginate, search_text, table_page
from smsdesk.directory import imports, uploads
from smsdesk.directory import services as directory
from smsdesk.directory.models import ContactField
from smsdesk.directory.templatetags.directory import peer_link
from smsdesk.messaging import campaigns, filters, personal, sending, views
from smsdesk.messaging.campaigns import STATUSES_OF
from smsdesk.messaging.forms import NewSmsForm
from smsdesk.messaging.models import STATUS_COLOURS, Campaign, Message
from smsdesk.messaging.recipients import resolve_recipients
from smsdesk.sms import typography

POLL_SENDING = "every 2s"
POLL_REPORTS = "every 10s"  # only delivery reports still to come


CAMPAIGN_ORDER = Order("-date", ("created_at", "id"), descending=True)


def campaign_list(request: HttpRequest) -> HttpResponse:
    search = search_text(request)
    tag = request.GET.get("tag", "").strip()[:50]
    qs = campaigns.campaign_list(org=tenancy.of_request(request), search=search, tag=tag)
    context = paginate(request, qs, CAMPAIGN_ORDER)  # index campaign_recent
    page = context["page"]
    counts = campaigns.counts(c.id for c in page)
    return render(
        request,
        "messaging/campaigns.html",
        {
            **context,
            "q": search,
            "tag": tag,
            "tags": campaigns.tag_usage(org=tenancy.of_request(request)),
            "rows": [(c, counts[c.id]) for c in page],
            "list_filters": [("tag", tag)] if tag else [],
        },
    )


def campaign_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    counts = campaigns.counts([campaign.id])[campaign.id]
    state = request.GET.get("state", "")
    mine = Message.objects.for_org(tenancy.of_request(request))
    recipients = directory.with_names(mine.filter(campaign_id=campaign.id), "peer")
    if state in STATUSES_OF:
        recipients = recipients.filter(status__in=STATUSES_OF[state])
    else:
        state = ""
    return table_page(
        request,
        title=_("Campaign of %(date)s") % {"date": _date(campaign)},
        queryset=recipients,
        search=_search_recipients,
        columns=[
            # index msg_campaign; no sort by status nor its time: the worker changes them
            Column(_("Recipient"), "number", ("peer", "id")),
            Column(_("Text")),
            Column(_("Status")),
            Column(_("Status changed")),
        ],
        default_sort="number",
        row=lambda m: [
            peer_link(m.peer, m.contact_name),
            m.body,
            _status_badge(m),
            m.status_at,
        ],
        empty=_("No recipient matches."),
        template="messaging/campaign.html",
        extra={
            "campaign": campaign,
            "counts": counts,
            "now": timezone.now(),
            "poll": _poll(counts),
            "state": state,
            "list_filters": [("state", state)] if state else [],
        },
    )


def campaign_progress(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The counts and the bar alone, polled by the page while the campaign sends."""
    campaign = _campaign(request, campaign_id)
    counts = campaigns.counts([campaign.id])[campaign.id]
    response = render(
        request,
        "messaging/_campaign_progress.html",
        {"campaign": campaign, "counts": counts, "poll": _poll(counts)},
    )
    response["Cache-Control"] = "no-store"
    return response


def cancel_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """GET: how many messages will not go out; POST: cancel them."""
    campaign = _campaign(request, campaign_id)
    if request.method != "POST":
        waiting = campaigns.counts([campaign.id])[campaign.id]["waiting"]
        return _confirm(
            request,
            campaign,
            count=waiting,
            title=_("Cancel a campaign"),
            question=ngettext(
                "%(count)d message of this campaign has not gone out yet: cancel it?",
                "%(count)d messages of this campaign have not gone out yet: cancel them?",
                waiting,
            )
            % {"count": waiting},
            button=_("Yes, cancel them"),
            danger=True,
        )
    try:
        done = campaigns.cancel_campaign(
            campaign.id, by=request.user, org=tenancy.of_request(request)
        )
    except ServiceError as e:
        _refused(e)
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d message cancelled: it will not be sent.",
                "%(count)d messages cancelled: they will not be sent.",
                done,
            )
            % {"count": done},
        )
    return redirect("messaging:campaign", campaign_id=campaign.id)


def retry_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """GET: what will be sent again, and the warning about `unknown`; POST: do it."""
    campaign = _campaign(request, campaign_id)
    if request.method != "POST":
        counts = campaigns.counts([campaign.id])[campaign.id]
        to_retry = counts["failed"] + counts["unknown"]
        return _confirm(
            request,
            campaign,
            count=to_retry,
            title=_("Send again the failed and unknown messages"),
            question=ngettext(
                "%(count)d message of this campaign will be queued again.",
                "%(count)d messages of this campaign will be queued again.",
                to_retry,
            )
            % {"count": to_retry},
            warning=campaigns.retry_warning(counts),
            button=_("Yes, send them again"),
        )
    try:
        done = campaigns.retry_campaign(
            campaign.id, by=request.user, org=tenancy.of_request(request)
        )
    except ServiceError as e:
        _refused(e)
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", done)
            % {"count": done},
        )
    return redirect("messaging:campaign", campaign_id=campaign.id)


def requeue_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """GET: how many cancelled messages go back, and whether some of the same campaign went
    out already (not texted again); POST: put them back in the queue."""
    campaign = _campaign(request, campaign_id)
    if request.method != "POST":
        counts = campaigns.counts([campaign.id])[campaign.id]
        question, gone = campaigns.requeue_question(counts)
        return _confirm(
            request,
            campaign,
            count=counts["cancelled"],
            title=_("Put the cancelled messages back in the queue"),
            question=question,
            warning=gone,
            button=_("Yes, put them back"),
        )
    try:
        done = campaigns.requeue_campaign(
            campaign.id, by=request.user, org=tenancy.of_request(request)
        )
    except ServiceError as e:
        _refused(e)
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d message is back in the queue.",
                "%(count)d messages are back in the queue.",
                done,
            )
            % {"count": done},
        )
    return redirect("messaging:campaign", campaign_id=campaign.id)


def scheduled(request: HttpRequest) -> HttpResponse:
    """Programmés: the sends still to come, each with its time, text, recipients and actions."""
    rows = campaigns.scheduled_campaigns(org=tenancy.of_request(request))
    return render(request, "messaging/scheduled.html", {"rows": rows})


def edit_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """New SMS's form, filled with a scheduled send, that replaces it (campaigns.edit_scheduled)."""
    campaign = _campaign(request, campaign_id)
    form = NewSmsForm(request.POST if request.method == "POST" else _as_form_data(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            token, recipient_file = views.recipient_file_of(request)
            with transaction.atomic():
                once.claim(request)
                new = campaigns.edit_scheduled(
                    campaign.id,
                    by=request.user,
                    org=tenancy.of_request(request),
                    body=form.cleaned_data["text"],
                    targets=form.targets(),
                    send_at=form.cleaned_data["send_at"],
                    commercial=form.cleaned_data["commercial"],
                    tag=form.cleaned_data["tag"],
                    smart_encoding=form.cleaned_data["smart_encoding"],
                    recipient_file=recipient_file,
                )
        except once.AlreadySubmitted as e:
            messages.info(request, e.message)
            return redirect("messaging:scheduled")
        except ServiceError as e:
            _refused(e)
            add_service_error(form, e, views.FORM_FIELDS)
        else:
            uploads.discard(token)
            messages.success(
                request,
                ngettext(
                    "Scheduled SMS changed: %(count)d recipient, %(date)s.",
                    "Scheduled SMS changed: %(count)d recipients, %(date)s.",
                    new.recipient_count,
                )
                % {"count": new.recipient_count, "date": absolute(new.send_at)},
            )
            return redirect("messaging:scheduled")
    return render(
        request,
        "messaging/new.html",
        {
            "form": form,
            "editing": campaign,
            **views.picked_targets(request, form),
            "tags": campaigns.tag_usage(org=tenancy.of_request(request)),
            "custom_fields": ContactField.objects.for_org(tenancy.of_request(request)),
            "max_size": imports.max_size_shown(),
        },
        status=400 if form.errors else 200,
    )


def _as_form_data(campaign: Campaign) -> QueryDict:
    """A scheduled send as New SMS's form would post it."""
    data = QueryDict(mutable=True)
    targets = campaign.targets or {}
    data["text"] = campaign.body
    data["send_at"] = timezone.localtime(campaign.send_at).strftime("%Y-%m-%dT%H:%M")
    data["tag"] = campaign.tag
    if campaign.commercial:
        data["commercial"] = "on"
    data["smart_encoding"] = "on"
    data.setlist("numbers", ["\n".join(str(n) for n in targets.get("numbers", []))])
    data.setlist("contacts", [str(i) for i in targets.get("contacts", [])])
    data.setlist("groups", [str(i) for i in targets.get("groups", [])])
    return data


def _confirm(request: HttpRequest, campaign: Campaign, **context: object) -> HttpResponse:
    return render(request, "messaging/campaign_confirm.html", {"campaign": campaign, **context})


@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """New SMS with fields in the text: what one recipient gets (the one typed, else the
    first), and the size of the longest rendering over all the chosen recipients, computed
    by the code the service uses."""
    form = NewSmsForm(request.POST)
    form.is_valid()
    text = request.POST.get("text", "")[:5000]
    if form.cleaned_data.get("smart_encoding"):
        text = typography.replace(text).text  # what the send will store
    number = request.POST.get("preview_to", "").strip()[:64]
    context: dict = {}
    try:
        template = personal.check_template(text)
        if not template.has_fields:
            return render(request, "messaging/_preview.html", context)
        context["fields"] = True
        targets = form.targets()
        _token, recipient_file = views.recipient_file_of(request)
        # The send's own resolution and rendering (commercial mention included), so that
        # the longest text shown is the longest the send will store.
        resolved = resolve_recipients(
            targets=targets, recipient_file=recipient_file, org=tenancy.of_request(request)
        )
        if resolved.invalid:
            resolved.checked()  # raises what the send would say
        recipients = resolved.numbers[: settings.SMSDESK_MAX_RECIPIENTS]
        extra = recipient_file.values_by_number() if recipient_file is not None else None
        if number:
            number = directory.normalise(number, field="preview_to")
        elif recipients:
            number = recipients[0]
        if number:
            context["number"] = number
            context["rendered"] = personal.preview(
                text, number, extra, org=tenancy.of_request(request)
            )
        if recipients:
            commercial = bool(request.POST.get("commercial"))
            bodies = sending.personalised(
                template, recipients, extra, commercial=commercial, org=tenancy.of_request(request)
            )
            assert bodies is not None  # the template has fields
            context["longest"] = max(
                bodies.infos.values(), key=lambda info: (info.segments, info.length)
            )
            context["recipients"] = len(recipients)
    except ServiceError as e:
        context["error"] = e.message
    return render(request, "messaging/_preview.html", context)


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    try:
        return campaigns.get_campaign(campaign_id, org=tenancy.of_request(request))
    except ServiceError:
        raise Http404(_("No such campaign.")) from None


def _refused(error: ServiceError) -> None:
    if error.http_status == 403:
        raise PermissionDenied(error.message)


def _poll(counts: campaigns.Counts) -> str:
    if counts.sending:
        return POLL_SENDING
    return POLL_REPORTS if counts.awaiting_reports else ""


def _date(campaign: Campaign) -> str:
    return absolute(campaign.created_at)


def _search_recipients(qs, q: str):  # type: ignore[no-untyped-def]
    return qs.filter(filters.search_condition(q))  # as the message lists


def _status_badge(message: Message) -> str:
    badge = format_html(
        '<span class="badge text-bg-{}" data-status="{}">{}</span>',
        STATUS_COLOURS.get(message.status, "secondary"),
        message.status,
        message.get_status_display(),
    )
    if message.error:
        badge = format_html(
            '{}<div class="small text-danger sd-reason">{}</div>', badge, _(message.error)
        )
    return badge
