from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from smsdesk.calls.models import Call
from smsdesk.core import tenancy
from smsdesk.core.lists import Column, table_page
from smsdesk.directory import services as directory
from smsdesk.directory.templatetags.directory import peer_link


def call_list(request: HttpRequest) -> HttpResponse:
    if settings.SMSDESK_CALLS_HANG_UP:
        handling = _("They are hung up, never answered: this log is for information.")
    else:
        handling = _("They are left to ring, never answered: this log is for information.")
    if settings.SMSDESK_CALLS_AUTO_REPLY:
        handling += " " + _("Each caller gets an SMS reply, at most once a day (not if on STOP).")
    return table_page(
        request,
        title=_("Calls"),
        intro=_("Calls received by the SIM card.") + " " + handling,
        queryset=directory.with_names(Call.objects.for_org(tenancy.of_request(request)), "caller"),
        search=lambda qs, q: qs.filter(
            directory.number_search(q, "caller", org=tenancy.of_request(request))
        ),
        columns=[
            # indexes call_caller and call_recent
            Column(_("Number"), "number", ("caller", "at", "id")),
            Column(_("Date"), "date", ("at", "id")),
            Column(_("Gateway")),
            Column(_("SMS reply")),
        ],
        default_sort="-date",
        row=lambda c: [
            peer_link(c.caller, c.contact_name) if c.caller else _("hidden"),
            c.at,
            c.gateway,
            _("sent") if c.reply_id else "—",
        ],
        empty=_("No call received yet."),
    )
