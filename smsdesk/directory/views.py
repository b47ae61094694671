from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from smsdesk.core.lists import Column, table_page
from smsdesk.directory.models import Contact, Group


def contacts(request: HttpRequest) -> HttpResponse:
    return table_page(
        request,
        title=_("Contacts"),
        queryset=Contact.objects.all(),
        search=lambda qs, q: qs.filter(Q(name__icontains=q) | Q(number__icontains=q)),
        columns=[
            Column(_("Number"), "number", ("number",)),
            Column(_("Contact name"), "name", ("name", "number")),
        ],
        default_sort="name",
        row=lambda c: [c.number, c.name],
        empty=_("No contact yet."),
        link_first=True,
    )


def groups(request: HttpRequest) -> HttpResponse:
    return table_page(
        request,
        title=_("Groups"),
        queryset=Group.objects.annotate(size=Count("contacts")),
        search=lambda qs, q: qs.filter(name__icontains=q),
        columns=[
            Column(_("Group name"), "name", ("name",)),
            Column(_("Contacts"), "size", ("size", "name")),
        ],
        default_sort="name",
        row=lambda g: [g.name, g.size],
        empty=_("No group yet."),
    )
