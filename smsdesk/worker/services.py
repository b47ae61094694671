"""What the rest of smsdesk may ask about the workers: are they running, for which gateways."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from smsdesk.core import tenancy
from smsdesk.messaging import gateway_state, lines, stats
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


def down_gateways(
    workers: list[WorkerProcess] | None = None, *, org: Any = None
) -> list[GatewayState]:
    """Lines of `org` a running worker drives and cannot use now, with since when and why."""
    if workers is None:
        workers = running_workers()
    mine = set(lines.lines_of(tenancy.resolve(org)))
    return gateway_state.down({name for w in workers for name in w.gateways if name in mine})


# What the Passerelles page shows of a device, in this order (the keys of Health.extra).
DEVICE_FIELDS = {
    "maker": gettext_lazy("Maker"),
    "model": gettext_lazy("Model"),
    "imei": gettext_lazy("IMEI"),
    "sim": gettext_lazy("SIM"),
    "registration": gettext_lazy("Registration"),
    "memory": gettext_lazy("SMS memory used"),
    "device": gettext_lazy("Port"),
}


def gateway_overview(
    now: datetime | None = None,
    *,
    counts: stats.Counts | None = None,
    org: Any = None,
    every_line: bool = False,
) -> list[GatewayState]:
    """Every known gateway with what the home and Passerelles pages show: `live` (connected
    and driven by a running worker), `served`, `sent_today` (from the maintained counters,
    or `counts` when the caller has read them), `queued` (its queue: `queue_due` now and
    `queue_later`) and `device` (the device's own words, as (key, value) pairs).
    Organisation `org`'s lines only; `every_line` (the platform's metrics): all of them,
    without `sent_today`."""
    from django.db.models import Count, Q

    from smsdesk.messaging.models import OutboxEntry

    now = now or timezone.now()
    if every_line:
        mine = [s.name for s in gateway_state.configured()]
        gateways = list(GatewayState.objects.order_by("name"))
        mine += [g.name for g in gateways]
        counts = stats.Counts(now.date(), {}, {}, {})
    else:
        org = tenancy.resolve(org)
        mine = lines.lines_of(org)  # an organisation sees its own lines only
        gateways = list(GatewayState.objects.filter(name__in=mine).order_by("name"))
        counts = counts or stats.read(now, org=org, days=1)
    served = served_gateways(now)
    queue = {
        name: (due, later)
        for name, due, later in OutboxEntry.objects.filter(gateway_id__in=mine)
        .values_list("gateway_id")
        .annotate(
            due=Count("message_id", filter=Q(due_at__lte=now)),
            later=Count("message_id", filter=Q(due_at__gt=now)),
        )
        .order_by()
    }
    for g in gateways:
        g.served = g.name in served  # type: ignore[attr-defined]
        # Its last report says connected, and a running worker still drives it.
        g.live = g.connected and g.served  # type: ignore[attr-defined]
        g.sent_today = counts.today_by_gateway.get((g.name, stats.Event.SENT), 0)  # type: ignore[attr-defined]
        g.queue_due, g.queue_later = queue.get(g.name, (0, 0))  # type: ignore[attr-defined]
        g.queued = g.queue_due + g.queue_later  # type: ignore[attr-defined]
        extra = g.extra if isinstance(g.extra, dict) else {}
        g.device = [(label, extra[k]) for k, label in DEVICE_FIELDS.items() if extra.get(k)]  # type: ignore[attr-defined]
    return gateways
