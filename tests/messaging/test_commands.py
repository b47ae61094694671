from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from smsdesk.messaging.models import Message
from tests.conftest import in_a_month


@pytest.mark.django_db
def test_send_queues_and_prints_one_line_per_message() -> None:
    out = io.StringIO()
    call_command("send", "--to", "0612345678", "+33698765432", "--text", "Salut", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2 and all("\tqueued\t" in line for line in lines)
    assert Message.objects.filter(status="queued").count() == 2


@pytest.mark.django_db
def test_send_says_on_stderr_that_a_stop_number_is_not_texted() -> None:
    from smsdesk.optout import services as optout

    optout.opt_out("+33698765432", source="sms", keyword="STOP")
    out, err = io.StringIO(), io.StringIO()
    call_command("send", "--to", "0612345678", "0698765432", "--text", "x", stdout=out, stderr=err)
    assert "\tblocked\t" in out.getvalue()
    assert "1 numéro a envoyé STOP" in err.getvalue()


@pytest.mark.django_db
def test_send_at_a_later_time_is_scheduled() -> None:
    out = io.StringIO()
    call_command(
        "send",
        "--to",
        "0612345678",
        "--text",
        "Plus tard",
        "--at",
        in_a_month().strftime("%Y-%m-%dT%H:%M"),
        stdout=out,
    )
    assert Message.objects.get().status == "scheduled"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args,error",
    [
        (["--to", "12", "--text", "x"], "n’est pas un numéro valide"),
        (["--to", "0612345678", "--text", " "], "vide"),
        (["--to", "0612345678", "--text", "x", "--at", "demain"], "pas une date"),
        (["--to", "0612345678", "--text", "x", "--at", "2000-01-01T00:00"], "passée"),
    ],
)
def test_send_refuses_bad_input_with_a_clear_message(args, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match=error):
        call_command("send", *args, stdout=io.StringIO())
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_send_is_literal_unless_personalise_is_given() -> None:

    call_command("send", "--to", "0612345678", "--text", "Code {prénom}", stdout=io.StringIO())
    call_command(
        "send",
        "--to",
        "0612345679",
        "--text",
        "Bonjour {prénom|vous}",
        "--personalise",
        stdout=io.StringIO(),
    )
    assert Message.objects.get(peer="+33612345678").body == "Code {prénom}"
    assert Message.objects.get(peer="+33612345679").body == "Bonjour vous"
