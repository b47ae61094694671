"""Scale-out on PostgreSQL (issue 23, "must show"; docs/scaling.md).

Two web processes and three workers, each a separate process, on two "hosts": host-a
(127.0.0.2: one web, worker a1) and host-b (127.0.0.3: one web, workers b1 and b2), each
process told its host by SMSDESK_HOST, all against the one test database. Four simulated
lines; 20,000 messages sent through the two web processes' API, spread over the lines. In
the middle of the send, host-a's worker is killed (SIGKILL) and b2 is restarted (SIGTERM,
then started again). Then:

- each message was handed to the simulator at most once, and each delivered one exactly
  once (the simulators' `log=` files are the witness: one file per process and line);
- none is stuck: every message is `delivered`, or `unknown` for exactly those host-a's
  worker had in the network's hands at the kill;
- host-a's lines were taken over by host-b's workers, and only after their lease ran out.

The pacing of the simulated network (a hand-over of 50 takes 0.2 s) keeps the send going
long enough to kill a worker in the middle of it; the count is the issue's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from smsdesk.gateways.simulator import read_log
from smsdesk.messaging.models import Message
from smsdesk.worker.models import LineLease, WorkerProcess
from tests.ops.processes import Browser, environment, free_port, run, smsdesk, stop, wait_for
from tests.worker.helpers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = Message.Status
COUNT = int(os.environ.get("SCALE_OUT_MESSAGES", "20000"))
PER_REQUEST = 500
LINES = ["sim-1", "sim-2", "sim-3", "sim-4"]
LEASE = 8  # seconds: a dead worker's lines are free after this, its in-flight after twice
HOSTS = {"host-a": "127.0.0.2", "host-b": "127.0.0.3"}
METRICS = "scale-out-scrape"
PASSWORD = "correct horse 42"


def gateways(logs: Path, process: str) -> str:
    return " ".join(
        f"{line}=simulator?delivery_delay=0.5&batch_size=50&latency=0.2"
        f"&log={logs}/{process}-{line}.jsonl"
        for line in LINES
    )


def counts() -> Counter:
    return Counter(Message.objects.values_list("status", flat=True))


def leases_now() -> dict[str, LineLease]:
    return {lease.line: lease for lease in LineLease.objects.filter(expires_at__gt=timezone.now())}


def worker_id(host: str, pid: int) -> str | None:
    row = WorkerProcess.objects.filter(hostname=host, pid=pid).first()
    return row.id if row else None


def post_json(url: str, body: dict, token: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(  # noqa: S310 (our own http URL)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def ready_and_driven(browser: Browser) -> bool:
    status, _h, body = browser.get("/readyz")
    if status != 200 or json.loads(body)["checks"]["lines"] != "ok":
        return False
    status, _h, body = browser.get("/metrics", Authorization=f"Bearer {METRICS}")
    assert status == 200
    up, driven = {}, {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == "smsdesk_worker_up":
                up[s.labels["host"]] = s.value
            if s.name == "smsdesk_line_driven":
                driven[s.labels["line"]] = s.labels["host"]
    return up.get("host-b") == 1 and driven == dict.fromkeys(LINES, "host-b")


def test_two_hosts_two_webs_three_workers_a_kill_and_a_restart(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only: several hosts share one database; SQLite is one host's database "
            "(one worker process)"
        )
    logs = tmp_path / "handed"
    logs.mkdir()
    data = tmp_path / "data"  # the secret key every host is given (docs/scaling.md)

    def env(host: str, process: str) -> dict[str, str]:
        return environment(
            data,
            SMSDESK_HOST=host,
            SMSDESK_GATEWAYS=gateways(logs, process),
            SMSDESK_LINE_LEASE_SECONDS=str(LEASE),
            SMSDESK_ALLOWED_HOSTS=" ".join(HOSTS.values()),
            SMSDESK_METRICS_TOKEN=METRICS,
            SMSDESK_LOG_LEVEL="INFO",
        )

    run(
        "createuser",
        "alice",
        "--admin",
        "--password-stdin",
        env=env("host-a", "cli"),
        input=PASSWORD + "\n",
    )
    token = run("createtoken", "alice", env=env("host-a", "cli")).stdout.strip().splitlines()[-1]

    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, host: str, *args: str) -> subprocess.Popen:
        processes[name] = smsdesk(*args, env=env(host, name), log=tmp_path / f"{name}.log")
        return processes[name]

    bases = {}
    try:
        for host, address in HOSTS.items():
            port = free_port()
            web = start(
                f"web-{host}", host, "web", "--host", address, "--port", str(port), "--workers", "1"
            )
            bases[host] = f"http://{address}:{port}"
            wait_for(f"{bases[host]}/healthz", web, tmp_path / f"web-{host}.log")
        a1 = start("a1", "host-a", "worker")
        start("b1", "host-b", "worker")
        b2 = start("b2", "host-b", "worker")

        # The lines are shared out: every worker drives one or two, each line one worker.
        def shared_out() -> bool:
            rows = list(WorkerProcess.objects.all())
            held = sorted(line for w in rows for line in w.gateways)
            return len(rows) == 3 and held == LINES and all(w.gateways for w in rows)

        wait_until(shared_out, 120, "the four lines shared out between the three workers")
        a1_id = worker_id("host-a", a1.pid)
        assert a1_id

        # The send: through both web processes' API, spread over the four lines.
        answers: list[tuple[int, dict]] = []  # type: ignore[type-arg]
        requests = [
            (bases[list(HOSTS)[i % 2]], LINES[i % len(LINES)], i)
            for i in range(COUNT // PER_REQUEST)
        ]

        def sender(part: list[tuple[str, str, int]]) -> None:
            for base, line, i in part:
                to = [f"+3361{i * PER_REQUEST + k:07d}" for k in range(PER_REQUEST)]
                answers.append(
                    post_json(
                        f"{base}/api/v1/messages",
                        {"to": to, "text": f"lot {i}", "gateway": line},
                        token,
                    )
                )

        senders = [threading.Thread(target=sender, args=(requests[k::2],)) for k in range(2)]
        for t in senders:
            t.start()

        # Mid-send: host-a's worker has a batch in the network's hands. Kill it.
        def a1_busy() -> bool:
            handed = sum(len(read_log(f)) for f in logs.glob("a1-*.jsonl"))
            sending = Message.objects.filter(status=S.SENDING, claimed_by=a1_id).exists()
            return handed >= COUNT // 10 and sending

        wait_until(a1_busy, 300, "host-a's worker in the middle of a hand-over")
        os.kill(a1.pid, signal.SIGKILL)
        a1.wait(10)
        time.sleep(1)  # what its last commit wrote is in; nothing more will come from it
        killed_at = timezone.now()
        in_flight = set(
            Message.objects.filter(status=S.SENDING, claimed_by=a1_id).values_list("id", flat=True)
        )
        a1_lines = {
            lease.line: lease.expires_at for lease in LineLease.objects.filter(worker_id=a1_id)
        }
        assert a1_lines, "host-a's worker drove no line"
        assert counts()[S.QUEUED] + sum(1 for t in senders if t.is_alive()) > 0, "send over"

        # And another is restarted (as systemd does for an upgrade): it stops cleanly.
        b2.send_signal(signal.SIGTERM)
        assert b2.wait(60) == 0, (tmp_path / "b2.log").read_text()
        start("b2-again", "host-b", "worker")

        # host-a's lines are taken over by host-b, once their lease ran out.
        def taken_over() -> bool:
            now = leases_now()
            return all(line in now and now[line].host == "host-b" for line in a1_lines)

        wait_until(taken_over, 120, "host-a's lines taken over by host-b")
        for line, expired_at in a1_lines.items():
            lease = LineLease.objects.get(line=line)
            assert lease.taken_at >= expired_at, (line, lease.taken_at, expired_at)

        for t in senders:
            t.join(600)
        assert len(answers) == len(requests)
        assert {status for status, _body in answers} == {201}, answers[:3]

        # None stuck: every message delivered, or unknown (in flight at the kill).
        def settled() -> bool:
            c = counts()
            return sum(c.values()) == COUNT and c[S.DELIVERED] + c[S.UNKNOWN] == COUNT

        wait_until(settled, 300, f"{COUNT} messages delivered or unknown")
        final = counts()
        unknown = set(Message.objects.filter(status=S.UNKNOWN).values_list("id", flat=True))
        assert unknown == in_flight, (len(unknown), len(in_flight))
        assert all(
            "may or may not have been sent" in error
            for error in Message.objects.filter(status=S.UNKNOWN).values_list("error", flat=True)
        )

        # Each handed to the simulator at most once; each delivered exactly once.
        handed = Counter(entry["id"] for f in logs.glob("*.jsonl") for entry in read_log(f))
        assert handed and max(handed.values()) == 1, handed.most_common(3)
        delivered = set(Message.objects.filter(status=S.DELIVERED).values_list("id", flat=True))
        assert delivered <= set(handed)
        assert set(handed) <= delivered | in_flight
        assert sum(len(read_log(f)) for f in logs.glob("b*.jsonl")) > 0

        # Both hosts' web processes tell the same story.
        # (A line given back to even the workers out is taken again within a renewal.)
        for base in bases.values():
            browser = Browser(base)
            wait_until(lambda b=browser: ready_and_driven(b), 30, f"{base}: every line driven")
        browser = Browser(bases["host-a"])
        browser.log_in("alice", PASSWORD)
        status, _h, page = browser.get("/gateways/")
        assert status == 200 and b"host-b" in page
        after = max(
            (LineLease.objects.get(line=x).taken_at - killed_at).total_seconds() for x in a1_lines
        )
        print(
            f"\nscale-out: {final[S.DELIVERED]} delivered, {final[S.UNKNOWN]} unknown (in flight "
            f"at the kill), host-a's lines {sorted(a1_lines)} taken over "
            f"{after:.1f} s "
            f"after the kill"
        )
    finally:
        for process in processes.values():
            if process.poll() is None:
                stop(process, timeout=90)
        connection.close()
