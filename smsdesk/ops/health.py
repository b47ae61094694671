"""Liveness and readiness, for a load balancer, systemd, Docker or Kubernetes.

`/healthz` says the process answers (no database: a database outage must not get every web
process restarted). `/readyz` says it can do its work: the database answers, its schema is
the one this code expects (no migration pending), and a worker has sent its heartbeat
recently (else nothing would be sent). Neither needs a login nor shows any data: only the
name of each check and whether it passed.

`lines` says whether every line of SMSDESK_GATEWAYS is driven by a worker (holds its lease,
docs/scaling.md): "not driven" when one is not (its host is down and no other host may drive
it). It is for the reader and does not make the web unready: the web itself works.
"""

from __future__ import annotations

import logging

from django.db import connection

from smsdesk.core import schema
from smsdesk.messaging import gateway_state
from smsdesk.worker import leases
from smsdesk.worker.services import running_workers

log = logging.getLogger(__name__)

OK = "ok"


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready, {check: "ok" | why not}), the reasons short and free of any data."""
    checks = {"database": OK, "migrations": OK, "worker": OK, "lines": OK}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as e:
        log.warning("readyz: database unreachable: %s", e)
        checks.update(
            database="unreachable", migrations="unknown", worker="unknown", lines="unknown"
        )
        return False, checks
    try:
        state = schema.status()
        if state.pending:
            checks["migrations"] = "pending"
        elif state.newer:
            # A newer version migrated the database: this process still serves (README
            # "Upgrades": migrations are safe while the old version runs) until restarted.
            checks["migrations"] = "newer"
        workers = running_workers()
        if not workers:
            checks["worker"] = "no heartbeat"
        live = {w.id for w in workers}
        driven = {line for line, lease in leases.holders().items() if lease.worker_id in live}
        if any(spec.name not in driven for spec in gateway_state.configured()):
            checks["lines"] = "not driven"
    except Exception as e:
        log.warning("readyz: %s", e)
        checks.update(migrations="unknown", worker="unknown", lines="unknown")
    ready = checks["migrations"] in (OK, "newer") and checks["worker"] == OK
    return ready, checks
