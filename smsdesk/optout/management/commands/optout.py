from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.core.errors import ServiceError
from smsdesk.optout import services
from smsdesk.optout.models import OptOut, Source


class Command(BaseCommand):
    help = (
        "The STOP list: list it (--format csv to export), add a number, or remove one with "
        "a reason. Every change is kept in its history."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the numbers on the STOP list, newest first")
        listing.add_argument("--format", choices=["text", "csv"], default="text")
        add = sub.add_parser("add", help="put a number on the STOP list")
        add.add_argument("number", metavar="NUMBER")
        add.add_argument("--reason", default="", help="why (kept in the history)")
        add.add_argument(
            "--never",
            action="store_true",
            help="never text it: a START from the number does not take it off",
        )
        remove = sub.add_parser("remove", help="take a number off the STOP list")
        remove.add_argument("number", metavar="NUMBER")
        remove.add_argument("--reason", required=True, help="why (kept in the history)")
        for each in (listing, add, remove):
            add_org_argument(each)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        self.org = organisation_from(opts)
        try:
            if opts["action"] == "list":
                self._list(opts["format"])
            elif opts["action"] == "add":
                entry = services.add_number(
                    opts["number"],
                    by=None,
                    org=self.org,
                    source=Source.CLI,
                    reason=opts["reason"],
                    never=opts["never"],
                )
                self.stdout.write(_("%(number)s is on the STOP list.") % {"number": entry.number})
            else:
                event = services.remove_number(
                    opts["number"], by=None, org=self.org, source=Source.CLI, reason=opts["reason"]
                )
                self.stdout.write(
                    _("%(number)s is no longer on the STOP list.") % {"number": event.number}
                )
        except ServiceError as e:
            raise CommandError(str(e.message)) from None

    def _list(self, fmt: str) -> None:
        entries = OptOut.objects.for_org(self.org).order_by("-created_at", "-id")
        if fmt == "csv":
            for line in services.export_rows(entries.order_by("created_at", "id")):
                self.stdout.write(line, ending="")
            return
        for o in entries.select_related("by").iterator(chunk_size=2000):
            when = timezone.localtime(o.created_at).strftime("%Y-%m-%d %H:%M")
            by = o.by.get_username() if o.by else "-"
            text = " ".join(o.keyword.split())  # one line per number, whatever was sent
            self.stdout.write(f"{o.number}\t{when}\t{o.source}\t{by}\t{text}")
