from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.ops.checks import Level, describe, run_all


class Command(BaseCommand):
    help = (
        "Check this installation before going live: Django's deployment checks, then the "
        "secret key, allowed hosts, HTTPS, database, migrations, gateways, time zone, disk "
        "space, file modes, static files and worker, one line each; exit code 1 on an error."
    )
    # Django's own checks are one of ours (check_django), not a step before the command.
    requires_system_checks: list[str] = []

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        findings = run_all()
        style = {Level.OK: str, Level.WARNING: self.style.WARNING, Level.ERROR: self.style.ERROR}
        for f in findings:
            self.stdout.write(style[f.level](describe(f)))
        errors = sum(f.level is Level.ERROR for f in findings)
        if errors:
            raise CommandError(
                _("%(count)d error(s): fix them before going live.") % {"count": errors}
            )
