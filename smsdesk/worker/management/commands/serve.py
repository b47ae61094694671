import os
import sys
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from waitress.server import create_server

from smsdesk.accounts.models import User
from smsdesk.core.handler import SmsdeskWSGIHandler
from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.registry import masked
from smsdesk.worker.runtime import build_worker, stop_on_signals


class Command(BaseCommand):
    help = (
        "Migrate the database, then run the web server and the worker in one process "
        "(the embedded set-up). For production, run `serve --no-worker` and `worker` apart."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="web server threads")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="web only: run `smsdesk worker` in another process",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        call_command("migrate", interactive=False, verbosity=0)
        try:
            worker = None if opts["no_worker"] else build_worker()
        except GatewayError as e:
            raise CommandError(str(e)) from None
        try:
            server = create_server(
                SmsdeskWSGIHandler(),  # the API's lean chain too (core/handler.py)
                host=opts["host"],
                port=opts["port"],
                threads=opts["threads"],
                ident="smsdesk",
            )
        except OSError as e:
            raise CommandError(f"cannot listen on {opts['host']}:{opts['port']}: {e}") from None

        def stop() -> None:
            if worker:
                worker.stop()
            # Requests being answered finish first (up to the grace), then the server closes.
            server.task_dispatcher.shutdown(
                cancel_pending=False, timeout=settings.SMSDESK_STOP_GRACE
            )
            server.close()

        stop_on_signals(stop)
        worker_thread = None
        if worker:
            worker_thread = threading.Thread(target=worker.run, name="worker", daemon=True)
            worker_thread.start()
        self.stdout.write(
            _(
                "smsdesk is running on http://%(host)s:%(port)s/ (database: %(db)s, "
                "gateways: %(gateways)s). Ctrl-C stops it."
            )
            % {
                "host": opts["host"],
                "port": opts["port"],
                "db": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "gateways": ", ".join(masked(g) for g in settings.SMSDESK_GATEWAYS),
            }
        )
        if not User.objects.exists():
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "No account exists yet. Create the first administrator in another "
                        "terminal:\n    %(command)s createuser admin --admin\n(it prints a "
                        "generated password; add --password-stdin to type your own)."
                    )
                    % {"command": _this_command()}
                )
            )
        try:
            server.run()
        except (KeyboardInterrupt, OSError):
            pass
        finally:
            stop()
            if worker_thread:
                worker_thread.join(settings.SMSDESK_STOP_GRACE + 10)
        self.stdout.write(_("smsdesk stopped."))


def _this_command() -> str:
    """How the administrator can call smsdesk again: the path it was started with."""
    prog = sys.argv[0]
    return os.path.relpath(prog) if os.sep in prog and prog.endswith("smsdesk") else "smsdesk"
