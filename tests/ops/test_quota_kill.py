"""A quota survives `kill -9` of the web server in the middle of concurrent API sends.

The quota is counted in the transaction that saves the send (messaging/quotas.py): a crash must
leave both the messages and their parts counted, or neither. Here the production server
(`smsdesk web`, its worker processes in one process group) is SIGKILLed while 8 clients send
one-part SMS as fast as they can against a daily quota, then started again and the clients go
on until the quota refuses them. Every send answered 201 is stored, the parts counted are the
parts stored, and the quota is reached exactly, never passed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db.models import Sum

from smsdesk.accounts import services as accounts
from smsdesk.messaging import quotas
from smsdesk.messaging.models import Message
from smsdesk.tenants import organisations
from tests.accounts.test_quotas_visits import PASSWORD, two_orgs
from tests.ops.processes import environment, free_port, wait_for
from tests.worker.helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
QUOTA = 150
CLIENTS = 8
GATEWAYS = "line-a=simulator?org=a line-b=simulator?org=b"


def start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    # its own process group: the server's worker processes die with it, as with kill -9 of
    # the unit's whole control group
    return subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", "web", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class Senders:
    """CLIENTS threads posting one-part SMS to distinct numbers until told to stop or refused
    by the quota; what each request got is kept."""

    def __init__(self, base: str, token: str, first: int) -> None:
        self.base, self.token = base, token
        self.next = first
        self.lock = threading.Lock()
        self.created: list[int] = []  # message ids answered 201
        self.refused = 0  # 429 quota_exceeded
        self.failed = 0  # connection errors, 5xx: the server died under them
        self.stop = threading.Event()

    def number(self) -> str:
        with self.lock:
            self.next += 1
            return f"+336{self.next:08d}"

    def post(self) -> None:
        while not self.stop.is_set():
            body = json.dumps({"to": [self.number()], "text": "one part"}).encode()
            request = urllib.request.Request(  # noqa: S310 (our own http URL)
                f"{self.base}/api/v1/messages",
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (ours)
                    created = json.loads(answer.read())
                with self.lock:
                    self.created.extend(m["id"] for m in created["messages"])
            except urllib.error.HTTPError as e:
                if e.code == 429 and json.loads(e.read()).get("code") == "quota_exceeded":
                    with self.lock:
                        self.refused += 1
                    return
                with self.lock:
                    self.failed += 1
                time.sleep(0.05)
            except OSError:
                with self.lock:
                    self.failed += 1
                time.sleep(0.05)

    def run_until(self, done: threading.Event | None = None, timeout: float = 180) -> None:
        threads = [threading.Thread(target=self.post) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + timeout
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            if done is not None and done.is_set():
                break
            time.sleep(0.05)
        self.stop.set()
        for t in threads:
            t.join(60)


def test_kill_9_of_the_web_server_mid_send_keeps_the_quota_exact(tmp_path: Path) -> None:
    a, _b = two_orgs()
    organisations.set_quota(a, per_day=QUOTA)
    user = accounts.create_user(username="u-a", password=PASSWORD, org=a)
    token = accounts.create_token(user=user)[1]
    env = environment(tmp_path / "data", SMSDESK_GATEWAYS=GATEWAYS, SMSDESK_API_RATE="0")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "web.log"

    web = start_web(env, port, log)
    try:
        wait_for(f"{base}/healthz", web, log)
        first = Senders(base, token, first=0)
        enough = threading.Event()

        def kill_when_busy() -> None:
            # once about a third of the quota is answered, with requests in flight
            while len(first.created) < QUOTA // 3 and not first.stop.is_set():
                time.sleep(0.01)
            os.killpg(web.pid, signal.SIGKILL)
            enough.set()

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        first.run_until(done=None, timeout=120)
        killer.join(10)
        assert enough.is_set(), "the server was not killed mid-send"
        web.wait(10)
        assert web.returncode == -signal.SIGKILL
        assert first.refused == 0 and first.failed > 0, (first.refused, first.failed)

        # what the crash left: every message answered 201 is stored, and the parts counted
        # are exactly the parts stored (none counted without its message, none stored uncounted)
        stored = Message.objects.for_org(a).filter(direction="out")
        assert set(first.created) <= set(stored.values_list("pk", flat=True))
        parts_stored = stored.aggregate(n=Sum("segments"))["n"] or 0
        assert quotas.usage(a)[0].used == parts_stored
        assert parts_stored < QUOTA

        # started again, the clients go on until the quota refuses them: reached, never passed
        web = start_web(env, port, log)
        wait_for(f"{base}/healthz", web, log)
        second = Senders(base, token, first=100_000)
        second.run_until(timeout=180)
        assert second.refused == CLIENTS, (second.refused, second.failed, log.read_text()[-3000:])
        assert second.failed == 0
        stored = Message.objects.for_org(a).filter(direction="out")
        assert set(first.created + second.created) <= set(stored.values_list("pk", flat=True))
        assert stored.aggregate(n=Sum("segments"))["n"] == QUOTA
        assert quotas.usage(a)[0].used == QUOTA
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(60)
