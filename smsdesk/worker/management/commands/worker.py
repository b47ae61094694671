from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.gateways.base import GatewayError
from smsdesk.worker.runtime import build_worker, stop_on_signals


class Command(BaseCommand):
    help = "Run the worker alone: sends due messages and records what the gateways receive."

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            worker = build_worker()
        except GatewayError as e:
            raise CommandError(str(e)) from None
        stop_on_signals(worker.stop)
        self.stdout.write(
            _("smsdesk worker running for %(gateways)s (Ctrl-C stops it).")
            % {"gateways": ", ".join(g.name for g in worker.gateways)}
        )
        worker.run()
        self.stdout.write(_("smsdesk worker stopped."))
