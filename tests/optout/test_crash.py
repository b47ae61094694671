"""A STOP and a crash: a real process dies (os._exit, no clean-up, no rollback by Python)
either inside the transaction, just after the opt-out is written, or just after the commit.
What is left in the database is the message and the opt-out together, or neither."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from smsdesk.messaging.models import Message
from smsdesk.optout.models import OptOut, OptOutEvent
from tests.worker.helpers import ROOT, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCRIPT = """
import os, django
django.setup()
from django.utils import timezone
from smsdesk.messaging import receiving, stop
from smsdesk.optout.models import OptOut

def crash(*args, **kwargs):
    assert OptOut.objects.filter(number="+33698765432").exists()  # written, not committed
    os._exit(9)

if os.environ["CRASH_AT"] == "inside":
    stop.apply_stop = crash
receiving.receive_inbound(
    gateway="simulator", sender="+33698765432", text="STOP", received_at=timezone.now()
)
os._exit(9)  # "after": the commit has returned, the process dies at once
"""


def run_and_crash(where: str) -> int:
    env = dict(
        os.environ,
        SMSDESK_DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="smsdesk.settings",
        CRASH_AT=where,
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    return done.returncode


def test_a_crash_inside_the_transaction_leaves_neither() -> None:
    assert run_and_crash("inside") == 9
    assert not Message.objects.exists()
    assert not OptOut.objects.exists() and not OptOutEvent.objects.exists()


def test_a_crash_right_after_leaves_both() -> None:
    assert run_and_crash("after") == 9
    message = Message.objects.get(direction="in")
    assert message.keyword == "stop"
    assert OptOut.objects.filter(number="+33698765432").exists()
    assert OptOutEvent.objects.filter(number="+33698765432", action="added").exists()
    assert Message.objects.filter(opt_out_notice=True).count() == 1
