import os
import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _

from smsdesk.config import env_int, env_str
from smsdesk.core import schema

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Command(BaseCommand):
    help = (
        "Run the web interface and the API on the production server (granian), one process "
        "per core, without the worker (run `smsdesk worker` as its own service)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--host", default=env_str("SMSDESK_WEB_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("SMSDESK_WEB_PORT", 8000))
        parser.add_argument(
            "--workers",
            type=int,
            default=env_int("SMSDESK_WEB_WORKERS", os.cpu_count() or 1),
            help="processes (default: one per core)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=env_int("SMSDESK_WEB_THREADS", 4),
            help="threads per process: they overlap the waits on the database",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        from granian import Granian
        from granian.constants import Interfaces

        self._check_ready()
        metrics_dir, ours = _metrics_dir()
        # The workers are forked from this process: they must not share its connection.
        connections.close_all()
        self.stdout.write(
            _("smsdesk web on http://%(host)s:%(port)s/ (%(workers)d processes)")
            % {"host": opts["host"], "port": opts["port"], "workers": opts["workers"]}
        )
        try:
            Granian(
                "smsdesk.wsgi:application",
                address=opts["host"],
                port=opts["port"],
                interface=Interfaces.WSGI,
                workers=opts["workers"],
                blocking_threads=opts["threads"],
                respawn_failed_workers=True,
                workers_kill_timeout=settings.SMSDESK_STOP_GRACE,
                # granian's own lines through our format (plain or JSON); smsdesk's request
                # log replaces its access log, with the request id.
                log_dictconfig=settings.LOGGING,
                log_access=False,
            ).serve()
        finally:
            if ours:
                shutil.rmtree(metrics_dir, ignore_errors=True)

    def _check_ready(self) -> None:
        state = schema.require_migrated()
        if state.newer:
            self.stderr.write(
                _(
                    "Warning: the database was migrated by a newer smsdesk (%(list)s); "
                    "install that version."
                )
                % {"list": schema.describe(state.newer)}
            )
        root = getattr(settings, "STATIC_ROOT", None)
        if root and not (Path(root) / "staticfiles.json").exists():
            raise CommandError(
                _("SMSDESK_STATIC_ROOT has no collected files: run `smsdesk collectstatic`.")
            )


def _metrics_dir() -> tuple[str, bool]:
    """The folder where each web process writes its own figures (prometheus_client's
    multiprocess mode): PROMETHEUS_MULTIPROC_DIR (systemd's RuntimeDirectory), emptied of a
    previous run's files, or a new temporary one, removed at the end."""
    given = os.environ.get(MULTIPROC_ENV, "")
    if given:
        path = Path(given)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        folder, ours = given, False
    else:
        folder, ours = tempfile.mkdtemp(prefix="smsdesk-metrics-"), True
        os.environ[MULTIPROC_ENV] = folder
    if "smsdesk.ops.metrics" in sys.modules:  # pragma: no cover - a guard, not a path
        raise CommandError("internal: the metrics were created before their folder was set")
    return folder, ours
