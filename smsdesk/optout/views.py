from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from smsdesk.core.lists import Column, table_page
from smsdesk.optout.models import OptOut


def stop_list(request: HttpRequest) -> HttpResponse:
    return table_page(
        request,
        title=_("STOP SMS"),
        intro=_("These numbers sent STOP to the platform: they are never texted again."),
        queryset=OptOut.objects.all(),
        search=lambda qs, q: qs.filter(number__icontains=q),
        columns=[
            Column(_("Number"), "number", ("number",)),
            Column(_("Date"), "date", ("created_at", "id")),
            Column(_("Source"), "source", ("source", "-created_at")),
            Column(_("Message")),
        ],
        default_sort="-date",
        row=lambda o: [
            o.number,
            date_format(localtime(o.created_at), "SHORT_DATETIME_FORMAT"),
            o.get_source_display(),
            o.keyword,
        ],
        empty=_("Nobody has sent STOP yet."),
        link_first=True,
    )
