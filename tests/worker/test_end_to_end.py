"""A real `smsdesk worker` process, fed the way users feed it: `smsdesk send` and
`smsdesk simulate` in other processes, and the API. (The browser path is in tests/browser.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.calls.models import Call
from smsdesk.messaging.models import Message
from tests.conftest import in_a_month
from tests.worker.helpers import ROOT, database_url, start_worker, wait_until

S = Message.Status
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REFUSED = "+33600000001"
GATEWAYS = f"simulator?delivery_delay=0.2&fail_permanent={REFUSED}"


def smsdesk(*args: str) -> subprocess.CompletedProcess:
    """The `smsdesk` command, in its own process, on the test database."""
    env = dict(
        os.environ,
        SMSDESK_DATABASE_URL=database_url(),
        SMSDESK_GATEWAYS=GATEWAYS,
        DJANGO_SETTINGS_MODULE="smsdesk.settings",
    )
    return subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def status_of(message_id: int) -> str:
    return Message.objects.get(pk=message_id).status


@pytest.fixture
def worker(tmp_path: Path):  # type: ignore[no-untyped-def]
    process = start_worker(GATEWAYS, tmp_path / "worker.txt")
    yield process
    process.terminate()
    process.wait(30)


def test_cli_and_api_messages_reach_delivered_and_a_refused_one_fails_with_reason(
    worker: subprocess.Popen, operator: User
) -> None:
    done = smsdesk("send", "--to", "06 12 34 56 78", REFUSED, "--text", "Réunion à 10h")
    assert done.returncode == 0, done.stderr
    cli_ids = [int(line.split("\t")[0]) for line in done.stdout.splitlines() if line[:1].isdigit()]
    assert len(cli_ids) == 2

    _token, raw = accounts.create_token(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.post(
        "/api/v1/messages", {"to": ["+33698765432"], "text": "Hi"}, content_type="application/json"
    )
    assert response.status_code == 201
    api_id = response.json()["messages"][0]["id"]

    delivered = [cli_ids[0], api_id]
    wait_until(
        lambda: (
            all(status_of(i) == S.DELIVERED for i in delivered)
            and status_of(cli_ids[1]) == S.FAILED
        ),
        60,
        "CLI and API messages delivered, the refused number failed",
    )
    assert api.get(f"/api/v1/messages/{api_id}").json()["status"] == "delivered"
    refused = Message.objects.get(pk=cli_ids[1])
    assert refused.peer == REFUSED and refused.error == "number unknown to the network"

    # The reason is shown to the user in the Sent list, in French.
    page = Client()
    page.force_login(operator)
    html = page.get("/sms/sent/").content.decode()
    assert "Échec" in html and "Délivré" in html
    assert "numéro inconnu du réseau" in html


def test_a_scheduled_message_stays_scheduled_until_its_time(worker: subprocess.Popen) -> None:
    done = smsdesk(
        "send",
        "--to",
        "0612345678",
        "--text",
        "Plus tard",
        "--at",
        in_a_month().strftime("%Y-%m-%dT%H:%M"),
    )
    assert done.returncode == 0, done.stderr
    message = Message.objects.get()
    assert message.status == S.SCHEDULED
    # Meanwhile the worker is busy with another message that is due now...
    smsdesk("send", "--to", "0698765432", "--text", "Maintenant")
    wait_until(
        lambda: Message.objects.filter(status=S.DELIVERED).count() == 1, 60, "the due one delivered"
    )
    # ...and has left the scheduled one alone.
    assert status_of(message.pk) == S.SCHEDULED


def test_simulate_inbound_and_call_while_the_worker_runs(
    worker: subprocess.Popen, operator: User
) -> None:
    done = smsdesk("simulate", "inbound", "--from", "+33 6 98 76 54 32", "--text", "Bonjour !")
    assert done.returncode == 0, done.stderr
    assert smsdesk("simulate", "call", "--from", "06 98 76 54 32").returncode == 0

    wait_until(
        lambda: Message.objects.filter(direction="in").exists() and Call.objects.exists(),
        30,
        "the inbound SMS and the call recorded",
    )
    inbound = Message.objects.get(direction="in")
    assert (inbound.peer, inbound.body, inbound.status) == ("+33698765432", "Bonjour !", S.UNREAD)
    assert Call.objects.get().caller == "+33698765432"

    page = Client()
    page.force_login(operator)
    assert "Bonjour !" in page.get("/sms/unread/").content.decode()
    assert "Bonjour !" in page.get("/sms/received/").content.decode()


def test_commands_explain_a_mistake_and_exit_non_zero() -> None:
    done = smsdesk("send", "--to", "12", "--text", "x")
    assert done.returncode != 0 and "12" in done.stderr
    done = smsdesk(
        "simulate", "inbound", "--from", "0612345678", "--text", "x", "--gateway", "nope"
    )
    assert done.returncode != 0 and "nope" in done.stderr
    assert Message.objects.count() == 0
