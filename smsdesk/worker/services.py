"""What the rest of smsdesk may ask about the workers: are they running, for which gateways."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from smsdesk.messaging import gateway_state
from smsdesk.messaging.models import GatewayState
from smsdesk.worker.models import WorkerProcess

HEARTBEAT_EVERY = 10.0  # seconds between two heartbeats of a running worker
HEARTBEAT_TIMEOUT = timedelta(seconds=60)  # a worker silent this long is dead


def running_workers(now: datetime | None = None) -> list[WorkerProcess]:
    """Workers whose last heartbeat is recent enough to believe them alive."""
    now = now or timezone.now()
    return list(WorkerProcess.objects.filter(heartbeat_at__gte=now - HEARTBEAT_TIMEOUT))


def served_gateways(now: datetime | None = None) -> set[str]:
    """Names of the gateways some running worker is driving."""
    return {name for w in running_workers(now) for name in w.gateways}


def down_gateways(workers: list[WorkerProcess] | None = None) -> list[GatewayState]:
    """Gateways a running worker drives and cannot use now, with since when and why."""
    if workers is None:
        workers = running_workers()
    return gateway_state.down({name for w in workers for name in w.gateways})
