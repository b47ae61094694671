from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from smsdesk.calls.models import Call
from smsdesk.core.lists import Column, table_page


def call_list(request: HttpRequest) -> HttpResponse:
    return table_page(
        request,
        title=_("Calls"),
        intro=_(
            "Calls received by the SIM card. They are not answered: this log is for information."
        ),
        queryset=Call.objects.all(),
        search=lambda qs, q: qs.filter(caller__icontains=q),
        columns=[
            Column(_("Number"), "number", ("caller", "-at")),
            Column(_("Date"), "date", ("at", "id")),
            Column(_("Gateway"), "gateway", ("gateway", "-at")),
        ],
        default_sort="-date",
        row=lambda c: [c.caller, date_format(localtime(c.at), "SHORT_DATETIME_FORMAT"), c.gateway],
        empty=_("No call received yet."),
    )
