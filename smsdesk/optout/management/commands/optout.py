import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.core.errors import ServiceError
from smsdesk.directory import imports
from smsdesk.optout import services
from smsdesk.optout.models import OptOut, Source


class Command(BaseCommand):
    help = (
        "The STOP list: list it (--format csv to export), add a number, remove one with a "
        "reason, or import a CSV file of numbers. Every change is kept in its history."
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
        imp = sub.add_parser(
            "import",
            help="put the numbers of a CSV file on the STOP list (source import), read as the "
            "contact import reads a file; the preview on stdout, each rejected line on stderr",
        )
        imp.add_argument("file", metavar="FILE", help="the CSV file, or - for standard input")
        imp.add_argument("--reason", default="", help="why (kept in each number's history)")
        imp.add_argument(
            "--dry-run", action="store_true", help="show what it would do, change nothing"
        )
        for each in (listing, add, remove, imp):
            add_org_argument(each)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        self.org = organisation_from(opts)
        try:
            if opts["action"] == "list":
                self._list(opts["format"])
            elif opts["action"] == "import":
                self._import(opts["file"], reason=opts["reason"], dry_run=opts["dry_run"])
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

    def _import(self, path: str, *, reason: str, dry_run: bool) -> None:
        data = _read(path)
        if dry_run:
            services.check_import_reason(reason)  # refused now, not only when run for real
            plan = services.plan_import(data, org=self.org)
        else:
            plan = services.import_numbers(data, by=None, reason=reason, org=self.org)
        self.stdout.write(imports.recipients_line(plan.file))
        for rejected in plan.file.rejected:
            self.stderr.write(imports.rejected_line(rejected))
        counts = {"new": len(plan.new), "already": len(plan.already)}
        if dry_run:
            self.stdout.write(
                _("%(new)d numbers would be put on the STOP list, %(already)d are on it already.")
                % counts
            )
            self.stdout.write(_("Dry run: nothing was saved."))
        else:
            self.stdout.write(
                _("%(new)d numbers put on the STOP list, %(already)d were on it already.") % counts
            )

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


def _read(path: str) -> bytes:
    """The file (or standard input), refused when bigger than the import's limit."""
    limit = imports.max_bytes()
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise imports.too_big(len(data))
        return data
    try:
        size = Path(path).stat().st_size
        if size > limit:
            raise imports.too_big(size)
        return Path(path).read_bytes()
    except (OSError, ValueError) as e:
        raise CommandError(
            _("Cannot read %(file)s: %(error)s")
            % {"file": path[:200], "error": getattr(e, "strerror", None) or str(e)[:100]}
        ) from None
