from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.ops.backup import BackupError, read_passphrase, restore
from smsdesk.ops.checks import Level, describe, run_all


class Command(BaseCommand):
    help = (
        "Restore a backup into an empty data directory or database (refused otherwise), "
        "then compare its counts and run the checks of `smsdesk check`."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--passphrase-file", metavar="FILE")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        source = Path(opts["file"])
        if not source.is_file():
            raise CommandError(_("No such file: %(file)s") % {"file": source})
        try:
            done = restore(source, passphrase=read_passphrase(opts["passphrase_file"]))
        except (BackupError, OSError) as e:
            raise CommandError(getattr(e, "message", None) or str(e)) from None
        m = done.manifest
        self.stdout.write(
            _("Restored the backup of %(date)s (smsdesk %(version)s, %(database)s).")
            % {
                "date": m.created_at[:19].replace("T", " "),
                "version": m.version,
                "database": m.database,
            }
        )
        if done.migrated:
            self.stdout.write(_("It came from an older version: its database was migrated."))
        differ = {
            k: (n, done.counts.get(k)) for k, n in m.counts.items() if done.counts.get(k) != n
        }
        for name, count in sorted(done.counts.items()):
            self.stdout.write(f"  {name}: {count}")
        for note in done.notes:
            self.stdout.write(self.style.WARNING(note))
        findings = run_all()
        for f in findings:
            if f.level is not Level.OK:
                self.stdout.write(describe(f))
        if differ:
            raise CommandError(
                _("The counts differ from the backup's: %(list)s")
                % {"list": ", ".join(f"{k} {a} ≠ {b}" for k, (a, b) in differ.items())}
            )
        errors = [f for f in findings if f.level is Level.ERROR]
        if errors:
            raise CommandError(
                _("Restored, but `smsdesk check` finds %(count)d error(s) (above).")
                % {"count": len(errors)}
            )
        self.stdout.write(_("Counts as in the backup; the checks pass."))
