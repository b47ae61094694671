"""What the rest of smsdesk may ask about the workers: are they running, for which gateways."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy

from smsdesk.core import tenancy
from smsdesk.messaging import gateway_state, lines, stats
from smsdesk.messaging.models import GatewayState
from smsdesk.worker import leases
from smsdesk.worker.models import WorkerProcess

HEARTBEAT_EVERY = 10.0  # seconds between two rounds of a worker's housekeeping


def heartbeat_timeout() -> timedelta:
    """A worker silent this long is dead: twice its lines' lease (60 s by default). It beats
    every quarter of a lease (worker/leases.py)."""
    return timedelta(seconds=2 * settings.SMSDESK_LINE_LEASE_SECONDS)


def running_workers(now: datetime | None = None) -> list[WorkerProcess]:
    """Workers whose last heartbeat is recent enough to believe them alive."""
    now = now or timezone.now()
    return list(WorkerProcess.objects.filter(heartbeat_at__gte=now - heartbeat_timeout()))


def worker_overview(now: datetime | None = None, *, org: Any = None) -> list[WorkerProcess]:
    """Every worker that beat lately, on every host (host, then start), with `age` (seconds
    since its last heartbeat) and `up` (recent enough to believe it alive): the Passerelles
    page's table. With `org`, each worker's `gateways` are only that organisation's lines
    (a customer does not learn the names of another's)."""
    now = now or timezone.now()
    workers = list(
        WorkerProcess.objects.filter(heartbeat_at__gte=now - 5 * heartbeat_timeout()).order_by(
            "hostname", "started_at", "id"
        )
    )
    mine = set(lines.lines_of(tenancy.resolve(org))) if org is not None else None
    for w in workers:
        w.age = max(0, int((now - w.heartbeat_at).total_seconds()))  # type: ignore[attr-defined]
        w.up = now - w.heartbeat_at <= heartbeat_timeout()  # type: ignore[attr-defined]
        if mine is not None:
            w.gateways = [name for name in w.gateways if name in mine]
    return workers


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
    and driven by a running worker), `served`, `driver` (its lease: host and pid),
    `sent_today` (from the maintained counters, or `counts` when the caller has read them),
    `queued` (its queue: `queue_due` now and `queue_later`) and `device` (the device's own
    words, as (key, value) pairs). Organisation `org`'s lines only; `every_line` (the
    platform's metrics): all of them, without `sent_today`."""
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
    drivers = leases.holders(now)
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
        g.driver = drivers.get(g.name)  # type: ignore[attr-defined]
        # Its last report says connected, and a running worker still drives it.
        g.live = g.connected and g.served  # type: ignore[attr-defined]
        g.sent_today = counts.today_by_gateway.get((g.name, stats.Event.SENT), 0)  # type: ignore[attr-defined]
        g.queue_due, g.queue_later = queue.get(g.name, (0, 0))  # type: ignore[attr-defined]
        g.queued = g.queue_due + g.queue_later  # type: ignore[attr-defined]
        extra = g.extra if isinstance(g.extra, dict) else {}
        g.device = [(label, extra[k]) for k, label in DEVICE_FIELDS.items() if extra.get(k)]  # type: ignore[attr-defined]
    return gateways
