"""Liveness and readiness, for a load balancer, systemd, Docker or Kubernetes.

`/healthz` says the process answers (no database: a database outage must not get every web
process restarted). `/readyz` says it can do its work: the database answers, its schema is
the one this code expects (no migration pending), and a worker has sent its heartbeat
recently (else nothing would be sent). Neither needs a login nor shows any data: only the
name of each check and whether it passed.
"""

from __future__ import annotations

import logging

from django.db import connection

from smsdesk.core import schema
from smsdesk.worker.services import running_workers

log = logging.getLogger(__name__)

OK = "ok"


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready, {check: "ok" | why not}), the reasons short and free of any data."""
    checks = {"database": OK, "migrations": OK, "worker": OK}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as e:
        log.warning("readyz: database unreachable: %s", e)
        checks.update(database="unreachable", migrations="unknown", worker="unknown")
        return False, checks
    try:
        state = schema.status()
        if state.pending:
            checks["migrations"] = "pending"
        elif state.newer:
            # A newer version migrated the database: this process still serves (README
            # "Upgrades": migrations are safe while the old version runs) until restarted.
            checks["migrations"] = "newer"
        if not running_workers():
            checks["worker"] = "no heartbeat"
    except Exception as e:
        log.warning("readyz: %s", e)
        checks.update(migrations="unknown", worker="unknown")
    ready = checks["migrations"] in (OK, "newer") and checks["worker"] == OK
    return ready, checks
