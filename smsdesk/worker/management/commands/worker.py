import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

import smsdesk
from smsdesk.core import schema
from smsdesk.gateways.base import GatewayError
from smsdesk.worker.runtime import EXIT_SCHEMA_NEWER, SchemaWatch, build_worker, stop_on_signals


class Command(BaseCommand):
    help = "Run the worker alone: sends due messages and records what the gateways receive."

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        state = schema.require_migrated()
        if state.newer:
            self.refuse_newer(state.newer)
        try:
            worker = build_worker()
        except GatewayError as e:
            raise CommandError(str(e)) from None
        stop_on_signals(worker.stop)
        watch = SchemaWatch(worker)
        watch.start()
        self.stdout.write(
            _("smsdesk worker running for %(gateways)s (Ctrl-C stops it).")
            % {"gateways": ", ".join(g.name for g in worker.gateways)}
        )
        worker.run()
        if watch.newer:
            self.refuse_newer(watch.newer)
        self.stdout.write(_("smsdesk worker stopped."))

    def refuse_newer(self, newer: tuple[schema.Migration, ...]) -> None:
        self.stderr.write(
            _(
                "The database was upgraded by a newer smsdesk (%(list)s): this worker "
                "(smsdesk %(version)s) stops so as not to damage data it does not know. "
                "Install the new version here and start its worker."
            )
            % {"list": schema.describe(newer), "version": smsdesk.__version__}
        )
        sys.exit(EXIT_SCHEMA_NEWER)
