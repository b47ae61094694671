"""Exports of the Sent and Received lists: the page's Export button and
`smsdesk messages export`, as CSV, streamed by keyset chunks, formula-safe, with names.
(A million rows in constant memory: bench/export.py.)"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.directory.models import Contact
from smsdesk.messaging import exports, receiving, sending
from smsdesk.messaging.models import Message

HOSTILE = ['=HYPERLINK("http://x","clic")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"]


def read(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # UTF-8 with a BOM: Excel reads the accents
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


def body_of(response: StreamingHttpResponse) -> str:
    assert isinstance(response, StreamingHttpResponse)  # never the whole file in memory
    return b"".join(response.streaming_content).decode("utf-8")  # type: ignore[arg-type]


@pytest.mark.django_db
def test_the_sent_export_has_names_and_no_formula(operator: User, client: Client) -> None:
    Contact.objects.create(name="Durand", first_name="Élise", number="+33612345671")
    for text in HOSTILE:
        sending.create_campaign(author=operator, body=text, to=["0612345671"], tag="@soldes")
    client.force_login(operator)
    page = client.get("/sms/sent/").content.decode()
    assert 'id="export-csv"' in page and 'href="/sms/sent/export/"' in page
    response = client.get("/sms/sent/export/")
    assert response["Content-Disposition"].startswith('attachment; filename="sms-sent-')
    rows = read(body_of(response))
    assert rows[0][:4] in (["Date", "Numéro", "Nom", "Texte"], ["Date", "Number", "Name", "Text"])
    assert len(rows) == 1 + len(HOSTILE)
    for row in rows[1:]:
        assert row[1] == "06 12 34 56 71" and row[2] == "Élise Durand"
        assert row[3][0] == "'" and row[3][1:] in HOSTILE  # text, never a formula
        assert row[9] == "'@soldes" and row[10] == operator.username
    # newest first, as the list
    assert [r[3][1:] for r in rows[1:]] == HOSTILE[::-1]


@pytest.mark.django_db
def test_the_export_keeps_the_page_search(operator: User, client: Client) -> None:
    sending.create_campaign(author=operator, body="Rendez-vous demain", to=["0612345671"])
    sending.create_campaign(author=operator, body="Autre chose", to=["0612345672"])
    receiving.receive_inbound(
        gateway="simulator",
        sender="+33698765432",
        text="=1+1 rendez-vous",
        received_at=timezone.now(),
    )
    client.force_login(operator)
    page = client.get("/sms/sent/?q=rendez").content.decode()
    assert 'href="/sms/sent/export/?q=rendez"' in page
    rows = read(body_of(client.get("/sms/sent/export/?q=rendez")))
    assert [r[3] for r in rows[1:]] == ["Rendez-vous demain"]
    received = read(body_of(client.get("/sms/received/export/?q=rendez")))
    assert [(r[1], r[3]) for r in received[1:]] == [("06 98 76 54 32", "'=1+1 rendez-vous")]
    assert 'id="export-csv"' not in client.get("/sms/unread/").content.decode()


@pytest.mark.django_db
def test_keyset_chunks_give_every_row_once_in_order(operator: User, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(exports, "CHUNK", 3)  # chunk edges fall inside rows of one moment
    sending.create_campaign(author=operator, body="A", to=[f"06123456{i:02d}" for i in range(10)])
    sending.create_campaign(author=operator, body="B", to=[f"06123457{i:02d}" for i in range(4)])
    expected = list(
        Message.objects.filter(direction="out")
        .order_by("-created_at", "-id")
        .values_list("peer", flat=True)
    )
    rows = list(exports.rows(direction="out"))
    assert len(rows) == 14
    assert [r[1].replace(" ", "") for r in rows] == ["0" + p[3:] for p in expected]


@pytest.mark.django_db
def test_since_keeps_only_the_days_from_then_on(operator: User) -> None:
    old = sending.create_campaign(author=operator, body="vieux", to=["0612345671"])
    Message.objects.filter(campaign=old).update(created_at=timezone.now() - timedelta(days=10))
    sending.create_campaign(author=operator, body="neuf", to=["0612345672"])
    out = io.StringIO()
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    call_command("messages", "export", "--direction", "out", "--since", since, stdout=out)
    assert [r[3] for r in read(out.getvalue())[1:]] == ["neuf"]
    out = io.StringIO()
    call_command("messages", "export", "--direction", "out", "--q", "vieux", stdout=out)
    assert [r[3] for r in read(out.getvalue())[1:]] == ["vieux"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--direction", "both"], "out"),
        (["--direction", ""], "out"),
        (["--direction", "out", "--since", "2026-02-30"], "(YYYY|AAAA)-MM-(DD|JJ)"),
        (["--direction", "out", "--since", "hier"], "(YYYY|AAAA)-MM-(DD|JJ)"),
        (["--direction", "out", "--since", "2026-1-1"], "(YYYY|AAAA)-MM-(DD|JJ)"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line(args: list[str], error: str) -> None:
    with pytest.raises(CommandError, match=error):
        call_command("messages", "export", *args, stdout=io.StringIO())


@pytest.mark.django_db
def test_a_search_with_control_characters_finds_nothing_and_breaks_nothing(operator: User) -> None:
    sending.create_campaign(author=operator, body="x", to=["0612345671"])
    out = io.StringIO()
    call_command("messages", "export", "--direction", "out", "--q", "\x00\x1b[31m", stdout=out)
    assert len(read(out.getvalue())) >= 1


def test_piped_to_head_it_stops_quietly(tmp_path: Path) -> None:
    """`smsdesk messages export ... | head -3`: no BrokenPipeError traceback, exit 0."""
    smsdesk = Path(sys.executable).with_name("smsdesk")
    env = {**os.environ, "SMSDESK_DATA_DIR": str(tmp_path)}
    env.pop("SMSDESK_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([smsdesk, "migrate", "-v0"], env=env, check=True)
    numbers = tmp_path / "to.csv"
    numbers.write_text("number\n" + "".join(f"06{i:08d}\n" for i in range(12000000, 12003000)))
    subprocess.run(
        [smsdesk, "send", "--csv", numbers, "--text", "Bonjour " * 20],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    export = subprocess.Popen(
        [smsdesk, "messages", "export", "--direction", "out"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None and export.stderr is not None
    head = subprocess.run(["head", "-3"], stdin=export.stdout, capture_output=True, check=True)
    export.stdout.close()  # head's end only: the export sees the pipe closed
    stderr = export.stderr.read().decode()
    assert export.wait(timeout=60) == 0, stderr
    assert stderr == ""
    assert len(head.stdout.splitlines()) == 3


@pytest.mark.django_db
@pytest.mark.skipif(shutil.which("soffice") is None, reason="scripts/test installs LibreOffice")
def test_a_spreadsheet_opens_it_as_text_not_formulas(operator: User, tmp_path: Path) -> None:
    """LibreOffice Calc reads the export (`;`, UTF-8) and writes back what its cells show: a
    formula would come back computed. The control line, written without the guard, does."""
    for text in ["=1+1", "+2+2", "-3+3", "@SUM(1;1)", '=HYPERLINK("http://x";"clic")']:
        sending.create_campaign(author=operator, body=text, to=["0612345671"])
    export = tmp_path / "export.csv"
    out = io.StringIO()
    call_command("messages", "export", "--direction", "out", stdout=out)
    export.write_text(out.getvalue() + "control;=1+1\r\n", encoding="utf-8", newline="")
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--infilter=CSV:59,34,76,1",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):59,34,76,1,,0,false,true,false,false",
            str(export),
            "--outdir",
            str(tmp_path / "out"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    shown = read("\ufeff" + (tmp_path / "out" / "export.csv").read_text(encoding="utf-8-sig"))
    assert shown[-1][:2] == ["control", "2"]  # the oracle computes what is a formula
    texts = [row[3] for row in shown[1:-1]]
    assert texts == [
        "'" + t for t in ['=HYPERLINK("http://x";"clic")', "@SUM(1;1)", "-3+3", "+2+2", "=1+1"]
    ]


@pytest.mark.django_db
def test_the_export_gives_what_a_filtered_list_shows(operator: User, client: Client) -> None:
    """A home page figure opens Sent with ?status=failed&period=day: its Export button gives
    those rows, not the whole list."""
    campaign = sending.create_campaign(
        author=operator, body="Bonjour", to=["0612345671", "0612345672", "0612345673"]
    )
    failed, delivered, old_failure = campaign.created_messages
    now = timezone.now()
    Message.objects.filter(pk=failed.pk).update(status=Message.Status.FAILED)
    Message.objects.filter(pk=delivered.pk).update(status=Message.Status.DELIVERED)
    Message.objects.filter(pk=old_failure.pk).update(
        status=Message.Status.FAILED, created_at=now - timedelta(days=3)
    )
    client.force_login(operator)
    page = client.get("/sms/sent/?status=failed&period=day").content.decode()
    assert 'href="/sms/sent/export/?status=failed&amp;period=day"' in page
    rows = read(body_of(client.get("/sms/sent/export/?status=failed&period=day")))
    assert [r[1] for r in rows[1:]] == ["06 12 34 56 71"]
    week = read(body_of(client.get("/sms/sent/export/?status=failed&period=week")))
    assert sorted(r[1] for r in week[1:]) == ["06 12 34 56 71", "06 12 34 56 73"]
    # an unknown filter value is ignored, as the list ignores it: the whole list
    whole = read(body_of(client.get("/sms/sent/export/?status=nope&period=year")))
    assert len(whole) == 1 + 3
