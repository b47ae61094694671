"""`/metrics` in Prometheus' text format (the official `prometheus_client`).

Two kinds of figures, gathered two ways, because the web runs as several processes (each
with its own memory) and the workers may run on other hosts:

- What the database knows (queues, messages per event and line, gateways, workers, send
  latency and report delay) is read **at scrape time** by `DatabaseCollector`, in whichever
  web process answers: every process gives the same answer, and nothing is kept in memory.
  Messages per event come from the maintained counters (`messaging.stats.totals`), never from
  a scan of the messages; latencies from the newest `LATENCY_SAMPLE` outbound messages, read
  through the list index (a bounded read), given as quantiles.
- What each web process measures itself (the time each view takes) goes to a histogram in
  prometheus_client's **multiprocess mode** when `PROMETHEUS_MULTIPROC_DIR` is set (`smsdesk
  web` sets it for its workers): every process writes its own file there and a scrape sums
  them. Without it (the embedded `serve`, one process), the histogram lives in memory.

Labels name a line (a gateway), a view or a state, never a customer: a line will belong to
an organisation later (issue 16), and its label can then be added beside these.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from smsdesk.core import schema
from smsdesk.messaging import stats
from smsdesk.messaging.models import Message
from smsdesk.worker import leases
from smsdesk.worker.services import gateway_overview, running_workers, worker_overview

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_SAMPLE = 1000
QUANTILES = (0.5, 0.9, 0.99)

# This process's own figures when there is no multiprocess directory; not prometheus_client's
# default registry, whose python_* and process_* figures would break the `smsdesk_` rule.
THIS_PROCESS = CollectorRegistry()

REQUEST_SECONDS = Histogram(
    "smsdesk_http_request_duration_seconds",
    "Time to answer a request, by view (Django's URL name) and method.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=THIS_PROCESS,
)
REQUESTS = Counter(
    "smsdesk_http_requests",
    "Requests answered, by view, method and status class (2xx, 4xx...).",
    ["view", "method", "status"],
    registry=THIS_PROCESS,
)


def observe_request(view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(view, method).observe(seconds)
    REQUESTS.labels(view, method, f"{status // 100}xx").inc()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class DatabaseCollector(Collector):
    """What the database knows, read when Prometheus asks."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._lines(now)
        yield from self._messages()
        yield from self._latencies()
        yield from self._workers(now)
        state = schema.status()
        pending = GaugeMetricFamily(
            "smsdesk_schema_pending_migrations",
            "Migrations this code has that the database lacks (0 once `smsdesk migrate` ran).",
        )
        pending.add_metric([], len(state.pending))
        yield pending

    def _lines(self, now: datetime) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "smsdesk_queue_depth", "Messages due now and waiting for their line.", labels=["line"]
        )
        later = GaugeMetricFamily(
            "smsdesk_queue_scheduled",
            "Messages waiting for a later time (scheduled, or a retry).",
            labels=["line"],
        )
        up = GaugeMetricFamily(
            "smsdesk_gateway_up",
            "1 when the line is connected and a running worker drives it, else 0.",
            labels=["line", "kind"],
        )
        signal = GaugeMetricFamily(
            "smsdesk_gateway_signal_percent",
            "Signal strength the line last reported (modems), 0-100.",
            labels=["line"],
        )
        for g in gateway_overview(now, every_line=True):
            depth.add_metric([g.name], g.queue_due)  # type: ignore[attr-defined]
            later.add_metric([g.name], g.queue_later)  # type: ignore[attr-defined]
            up.add_metric([g.name, g.kind], 1 if g.live else 0)  # type: ignore[attr-defined]
            if g.signal_percent is not None:
                signal.add_metric([g.name], g.signal_percent)
        yield from (depth, later, up, signal)

    def _messages(self) -> Iterator[Metric]:
        messages = CounterMetricFamily(
            "smsdesk_messages",
            "Messages that reached an event (sent, delivered, failed, unknown, blocked, "
            "received, reported), per line, from the maintained counters: a message sent "
            "again after a retry counts again.",
            labels=["line", "event"],
        )
        for (gateway, event), n in sorted(stats.totals().items()):
            messages.add_metric([gateway or "none", event], n)
        yield messages

    def _latencies(self) -> Iterator[Metric]:
        """Quantiles over the newest outbound messages (one bounded read of the list index):
        from due to handed over, and from handed over to the delivery report."""
        rows = (
            Message.objects.across_orgs()  # the platform's metrics: every organisation
            .filter(direction=Message.Direction.OUTBOUND)
            .order_by("-id")
            .values_list("gateway_id", "status", "due_at", "sent_at", "status_at")[:LATENCY_SAMPLE]
        )
        send: dict[str, list[float]] = defaultdict(list)
        report: dict[str, list[float]] = defaultdict(list)
        for gateway, status, due_at, sent_at, status_at in rows:
            if sent_at is None:
                continue
            if due_at is not None:
                send[gateway].append(max(0.0, (sent_at - due_at).total_seconds()))
            if status == Message.Status.DELIVERED and status_at is not None:
                report[gateway].append(max(0.0, (status_at - sent_at).total_seconds()))
        for name, doc, samples in (
            (
                "smsdesk_send_latency_seconds",
                "From due to handed over to the network, over the newest outbound messages.",
                send,
            ),
            (
                "smsdesk_report_delay_seconds",
                "From handed over to the delivery report, over the newest delivered messages.",
                report,
            ),
        ):
            family = GaugeMetricFamily(name, doc, labels=["line", "quantile"])
            for gateway, values in sorted(samples.items()):
                for q in QUANTILES:
                    family.add_metric([gateway or "none", str(q)], quantile(values, q))
            yield family

    def _workers(self, now: datetime) -> Iterator[Metric]:
        workers = running_workers(now)
        count = GaugeMetricFamily(
            "smsdesk_workers", "Workers whose heartbeat is recent, per host.", labels=["host"]
        )
        per_host: dict[str, int] = defaultdict(int)
        for w in workers:
            per_host[w.hostname] += 1
        for host, n in sorted(per_host.items()):
            count.add_metric([host], n)
        yield count
        age = GaugeMetricFamily(
            "smsdesk_worker_heartbeat_age_seconds",
            "Seconds since the freshest worker heartbeat (absent: no worker running).",
        )
        if workers:
            age.add_metric([], min((now - w.heartbeat_at).total_seconds() for w in workers))
        yield age
        up = GaugeMetricFamily(
            "smsdesk_worker_up",
            "1 when a worker of the host beats, 0 when its workers fell silent lately.",
            labels=["host"],
        )
        hosts: dict[str, bool] = {}
        for w in worker_overview(now):
            hosts[w.hostname] = hosts.get(w.hostname, False) or w.up  # type: ignore[attr-defined]
        for host, alive in sorted(hosts.items()):
            up.add_metric([host], 1 if alive else 0)
        yield up
        driven = GaugeMetricFamily(
            "smsdesk_line_driven",
            "1 for the host whose worker holds the line's lease (worker/leases.py).",
            labels=["line", "host"],
        )
        for line, lease in sorted(leases.holders(now).items()):
            driven.add_metric([line, lease.host], 1)
        yield driven


class _ThisProcess(Collector):
    """The in-memory figures of a single-process server (the embedded `serve`)."""

    def collect(self) -> Iterator[Metric]:
        yield from THIS_PROCESS.collect()


def exposition() -> bytes:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    return generate_latest(registry)
