"""`smsdesk contacts export | head`: the reader leaves early, the command stops quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from smsdesk.directory.models import Contact
from tests.worker.helpers import ROOT, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_export_piped_to_head_ends_without_a_traceback() -> None:
    Contact.objects.bulk_create(
        [Contact(name=f"Contact {i:05d}", number=f"+336{i:08d}") for i in range(20_000)]
    )
    env = dict(
        os.environ, SMSDESK_DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="smsdesk.settings"
    )
    export = subprocess.Popen(
        [sys.executable, "-m", "smsdesk.cli", "contacts", "export"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None and export.stderr is not None
    head = export.stdout.readline()  # what `head -1` reads, then it leaves
    export.stdout.close()
    err = export.stderr.read().decode()
    code = export.wait(60)
    assert head.startswith("\ufeff".encode())
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 141
