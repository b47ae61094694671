from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import organisation_from
from smsdesk.retention import services


class Command(BaseCommand):
    help = (
        "Delete (or mask) messages, calls and audit entries older than a date, of one "
        "organisation or of all, each by its own retention mode (the STOP list, what waits to "
        "be sent, unread SMS, the contacts and the counters are kept)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--before", required=True, help="YYYY-MM-DD: older than this day")
        parser.add_argument("--org", metavar="SLUG", default=None, help="only this organisation")
        parser.add_argument(
            "--mask",
            action="store_true",
            help="blank the text and mask the number instead of deleting, whatever the mode",
        )
        parser.add_argument("--dry-run", action="store_true", help="only count what would go")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            day = parse_date(opts["before"] or "")
        except ValueError:  # well formed, but no such day
            day = None
        if day is None:
            raise CommandError(_("--before takes a date: YYYY-MM-DD."), returncode=2)
        before = timezone.make_aware(datetime.combine(day, time.min))
        if before > timezone.now():
            raise CommandError(
                _("--before is in the future: nothing that recent is deleted."), returncode=2
            )
        org = organisation_from(opts) if opts["org"] is not None else None  # None: all
        mask = True if opts["mask"] else None
        if opts["dry_run"]:
            counts = services.plan(before=before, org=org, mask=mask)
        else:
            counts = services.purge(before=before, org=org, mask=mask)
        values = {
            "messages": counts.messages,
            "calls": counts.calls,
            "audit": counts.audit,
            "day": day.isoformat(),
        }
        line = (
            _("%(messages)d messages, %(calls)d calls, %(audit)d audit entries older than %(day)s")
            % values
        )
        self.stdout.write((_("Would delete: %s") if opts["dry_run"] else _("Deleted: %s")) % line)
        if counts.masked_messages or counts.masked_calls or counts.conversations or mask:
            masked = _(
                "%(messages)d messages, %(calls)d calls, the last text of %(conversations)d "
                "conversations"
            ) % {
                "messages": counts.masked_messages,
                "calls": counts.masked_calls,
                "conversations": counts.conversations,
            }
            self.stdout.write(
                (_("Would mask: %s") if opts["dry_run"] else _("Masked: %s")) % masked
            )
