"""`smsdesk web`: the production server as a process, as the install's unit starts it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.processes import Browser, environment, free_port, run, smsdesk, stop, wait_for
from tests.worker.helpers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TOKEN = "scrape-me"


def requests_counted(browser: Browser, view: str) -> float:
    status, _h, body = browser.get("/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200
    total = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == "smsdesk_http_requests_total" and s.labels["view"] == view:
                total += s.value
    return total


def test_the_production_server_serves_pages_metrics_and_health(tmp_path: Path) -> None:
    log = tmp_path / "web.log"
    env = environment(
        tmp_path / "data",
        SMSDESK_STATIC_ROOT=str(tmp_path / "static"),
        SMSDESK_METRICS_TOKEN=TOKEN,
        SMSDESK_LOG_FORMAT="json",
        SMSDESK_ACCESS_LOG="true",
    )
    run("collectstatic", "--noinput", "-v", "0", env=env)
    # through the command: the server hashes passwords as production does, not as the tests
    run("createuser", "alice", "--admin", "--password-stdin", env=env, input="correct horse 42\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = smsdesk("web", "--port", str(port), "--workers", "2", env=env, log=log)
    worker = None
    try:
        wait_for(f"{base}/healthz", web, log)
        browser = Browser(base)
        assert browser.get("/readyz")[0] == 503  # no worker yet
        browser.log_in("alice", "correct horse 42")

        status, headers, page = browser.get("/sms/sent/", **{"X-Request-ID": "trace-42"})
        assert status == 200 and headers["X-Request-ID"] == "trace-42"
        assert (
            headers["Cache-Control"] == "no-store, private"
            or "no-store" in headers["Cache-Control"]
        )
        # the page links its assets by hashed name, served for ever
        css = re.search(rb'href="(/static/core/smsdesk\.[0-9a-f]{12}\.css)"', page)
        assert css, "the stylesheet should have a hashed name"
        status, headers, _ = browser.get(css.group(1).decode())
        assert status == 200
        assert headers["Cache-Control"] == "max-age=315360000, public, immutable"

        # every process's requests add up in one scrape (multiprocess mode)
        before = requests_counted(browser, "accounts:login")
        for _ in range(12):
            assert Browser(base).get("/accounts/login/")[0] == 200  # a new connection each
        assert requests_counted(browser, "accounts:login") == before + 12

        worker = smsdesk("worker", env=env, log=tmp_path / "worker.log")
        wait_until(lambda: browser.get("/readyz")[0] == 200, 60, "ready once a worker runs")
        assert json.loads(browser.get("/readyz")[2])["checks"]["worker"] == "ok"
    finally:
        if worker:
            stop(worker)
        code = stop(web)
    assert code == 0, log.read_text()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    traced = [line for line in lines if line.get("request_id") == "trace-42"]
    assert traced and traced[0]["view"] == "messaging:sent" and traced[0]["status"] == 200
    assert not list((tmp_path / "data").glob("*.db")), "metrics files belong in a temp folder"


def test_it_will_not_start_on_a_database_that_lacks_migrations(tmp_path: Path) -> None:
    env = environment(tmp_path / "data", url=f"sqlite:///{tmp_path}/empty.sqlite3")
    done = run("web", "--port", str(free_port()), env=env, check=False, timeout=60)
    assert done.returncode == 1
    assert "lancez d’abord `smsdesk migrate`" in done.stderr  # French, the default


def test_it_will_not_start_without_the_collected_static_files(tmp_path: Path) -> None:
    env = environment(tmp_path / "data", SMSDESK_STATIC_ROOT=str(tmp_path / "nothing"))
    done = run("web", "--port", str(free_port()), env=env, check=False, timeout=60)
    assert done.returncode == 1 and "collectstatic" in done.stderr
