"""The command line of issue 20: `send --every`, `send --to A --to B`, `autoreply`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from smsdesk.messaging.models import AutoReply, Message, Recurrence


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_to_given_twice_sends_to_both() -> None:
    run("send", "--to", "0612345678", "--to", "0698765432", "0611111111", "--text", "Salut")
    assert sorted(Message.objects.values_list("peer", flat=True)) == [
        "+33611111111",
        "+33612345678",
        "+33698765432",
    ]


@pytest.mark.django_db
def test_send_every_week_saves_a_recurring_send() -> None:
    out = run(
        "send",
        "--to",
        "0612345678",
        "--text",
        "Rappel",
        "--every",
        "week",
        "--on",
        "mon,thu",
        "--at",
        "09:00",
        "--times",
        "4",
    )
    rec = Recurrence.objects.get()
    assert (rec.every, rec.weekdays, rec.times, rec.source) == ("week", [0, 3], 4, "cli")
    assert "next occurrence" in out or "prochaine" in out
    assert not Message.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, says",
    [
        (["--every", "week", "--at", "09:00"], "--on"),
        (["--every", "week", "--on", "lun", "--at", "09:00"], "--on"),
        (["--every", "month", "--day", "32", "--at", "09:00"], "--day"),
        (["--every", "day", "--at", "2026-12-01T09:30"], "--at"),
        (["--every", "day", "--at", "09:00", "--until", "hier"], "--until"),
        (["--on", "mon"], "--every"),
    ],
)
def test_a_bad_repeat_exits_with_one_line(args: list[str], says: str) -> None:
    with pytest.raises(CommandError) as e:
        run("send", "--to", "0612345678", "--text", "x", *args)
    assert says in str(e.value)
    assert not Recurrence.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_autoreply_add_list_delete() -> None:
    run("autoreply", "add", "HORAIRES", "--text", "Ouvert de 9h à 18h.", "--match", "word")
    rule = AutoReply.objects.get()
    assert (rule.normalised, rule.match) == ("horaires", "word")
    assert "HORAIRES\tword" in run("autoreply", "list")
    with pytest.raises(CommandError) as e:
        run("autoreply", "add", "stop", "--text", "x")
    assert "keyword" in str(e.value)
    run("autoreply", "delete", str(rule.id))
    assert not AutoReply.objects.exists()
