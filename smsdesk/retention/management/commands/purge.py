from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from smsdesk.retention import services


class Command(BaseCommand):
    help = (
        "Delete messages, calls and audit entries older than a date (the STOP list, what "
        "waits to be sent, unread SMS and the counters are kept)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--before", required=True, help="YYYY-MM-DD: older than this day")
        parser.add_argument("--dry-run", action="store_true", help="only count what would go")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            day = parse_date(opts["before"] or "")
        except ValueError:  # well formed, but no such day
            day = None
        if day is None:
            raise CommandError(_("--before takes a date: YYYY-MM-DD."))
        before = timezone.make_aware(datetime.combine(day, time.min))
        if before > timezone.now():
            raise CommandError(_("--before is in the future: nothing that recent is deleted."))
        counts = services.plan(before=before) if opts["dry_run"] else services.purge(before=before)
        line = _(
            "%(messages)d messages, %(calls)d calls, %(audit)d audit entries older than %(day)s"
        ) % {
            "messages": counts.messages,
            "calls": counts.calls,
            "audit": counts.audit,
            "day": day.isoformat(),
        }
        self.stdout.write((_("Would delete: %s") if opts["dry_run"] else _("Deleted: %s")) % line)
