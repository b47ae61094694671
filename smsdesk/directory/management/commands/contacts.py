import os
import sys
from contextlib import closing
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.config import private_file
from smsdesk.core.errors import ServiceError
from smsdesk.directory import exports, imports, services


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file (with a preview: --dry-run) or export them as CSV or JSON."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True, metavar="import|export")
        imp = sub.add_parser(
            "import", help="import a CSV file (name, number, ...) or the JSON of an export"
        )
        imp.add_argument("file", help="the CSV or JSON file ('-' reads standard input)")
        imp.add_argument("--group", default="", metavar="NAME", help="also put them in this group")
        imp.add_argument("--dry-run", action="store_true", help="only print what would be done")
        add_org_argument(imp)
        exp = sub.add_parser("export", help="export every contact (or those matching --search)")
        exp.add_argument("--format", choices=["csv", "json"], default="csv")
        exp.add_argument("--output", metavar="FILE", help="write there instead of the screen")
        exp.add_argument("--search", default="", metavar="TEXT", help="only matching contacts")
        add_org_argument(exp)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        self.org = organisation_from(opts)
        try:
            if opts["action"] == "import":
                self._import(opts["file"], opts["group"], opts["dry_run"])
            else:
                self._export(opts["format"], opts["output"], opts["search"])
        except ServiceError as e:
            raise CommandError(str(e.message)) from None

    def _import(self, path: str, group: str, dry_run: bool) -> None:
        data = self._read(path)
        if dry_run:
            result = imports.plan(data, group=group, org=self.org)
        else:
            name = "stdin" if path == "-" else os.path.basename(path)
            result = imports.apply(data, group=group, org=self.org, name=name)
        self.stdout.write(imports.summary_line(result))
        if note := imports.ignored_note(result):
            self.stdout.write(note)
        for rejected in result.rejected:
            self.stdout.write(imports.rejected_line(rejected))
        if not result.importable and not (result.group and result.unchanged):
            if not result.unchanged and not result.duplicates:
                raise CommandError(_("Nothing could be imported."))
            self.stdout.write(_("Nothing to change: every contact is already there."))
        elif dry_run:
            self.stdout.write(_("Dry run: nothing was saved."))
        else:
            self.stdout.write(_("Import done."))
        if result.invalid_report is not None:
            self.stdout.write(
                _("%(count)d invalid numbers kept, on the page /contacts/invalid/%(id)d/.")
                % {"count": result.invalid_report.count, "id": result.invalid_report.id}
            )

    def _read(self, path: str) -> bytes:
        limit = imports.max_bytes()
        if path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            try:
                size = Path(path).stat().st_size
                if size > limit:
                    raise imports.too_big(size)
                data = Path(path).read_bytes()
            except OSError as e:
                raise CommandError(
                    _("Cannot read %(file)s: %(error)s") % {"file": path, "error": e.strerror}
                ) from None
        return data

    def _export(self, fmt: str, output: str | None, search: str) -> None:
        qs = services.contact_list(search, org=self.org)
        chunks = exports.json_chunks(qs) if fmt == "json" else exports.csv_chunks(qs, org=self.org)
        if output:
            with private_file(output, "w", encoding="utf-8", newline="") as f:
                for chunk in chunks:
                    f.write(chunk)
            self.stderr.write(
                _("%(count)d contacts written to %(file)s.") % {"count": qs.count(), "file": output}
            )
        else:
            # Closed here, while the database is open, when the reader leaves early
            # (BrokenPipeError, handled by smsdesk.cli): not at the interpreter's exit.
            with closing(chunks):
                for chunk in chunks:
                    self.stdout.write(chunk, ending="")
