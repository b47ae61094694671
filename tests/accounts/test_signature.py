"""Mon compte's signature (issue 17): a line put under each New SMS and reply the user writes,
in the text box itself, so that they see it, the counter counts it, and the text stored is the
text sent; set on the page or by `smsdesk user set --signature`, audited, hostile values
refused with a message that says what to fix."""

from __future__ import annotations

import html
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.audit.models import Entry
from smsdesk.messaging import receiving
from smsdesk.messaging.models import Conversation, Message

pytestmark = pytest.mark.django_db
SIGNATURE = "Dr Martin — Cabinet des Lilas"


def text_box(page: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no text box {name}"
    return html.unescape(found.group(1))


def test_set_on_my_account_it_starts_every_new_sms_and_reply(
    client_bob: Client, operator: User
) -> None:
    assert text_box(client_bob.get("/sms/new/").content.decode(), "text").strip() == ""
    answer = client_bob.post("/accounts/me/signature/", {"signature": f"  {SIGNATURE}  "})
    assert answer.status_code == 302
    operator.refresh_from_db()
    assert operator.signature == SIGNATURE
    assert SIGNATURE in client_bob.get("/accounts/me/").content.decode()

    # New SMS: a line to write on, then the signature (Django drops the first newline of a
    # textarea, so the box holds it after one more)
    assert text_box(client_bob.get("/sms/new/").content.decode(), "text").endswith(f"\n{SIGNATURE}")
    receiving.receive_inbound(
        gateway="simulator", sender="+33612345678", text="Bonjour", received_at=timezone.now()
    )
    conversation = Conversation.objects.get()
    page = client_bob.get(f"/sms/conversations/{conversation.id}/").content.decode()
    assert text_box(page, "text").endswith(f"\n{SIGNATURE}")

    # what the user sends (the box as it came, typed above) is what is stored and sent
    typed = f"Votre rendez-vous est confirmé\n{SIGNATURE}"
    client_bob.post(f"/sms/conversations/{conversation.id}/reply/", {"text": typed})
    assert Message.objects.get(direction="out").body == typed

    # emptied: no signature any more
    client_bob.post("/accounts/me/signature/", {"signature": ""})
    operator.refresh_from_db()
    assert operator.signature == ""
    assert text_box(client_bob.get("/sms/new/").content.decode(), "text").strip() == ""


def test_each_change_is_in_the_journal_once(client_bob: Client, operator: User) -> None:
    client_bob.post("/accounts/me/signature/", {"signature": SIGNATURE})
    client_bob.post("/accounts/me/signature/", {"signature": SIGNATURE})  # unchanged: no entry
    [entry] = Entry.objects.filter(action="settings")
    assert entry.after == {"signature": SIGNATURE} and entry.before == {"signature": ""}


@pytest.mark.parametrize(
    "hostile,says",
    [
        ("x" * 101, "100"),
        ("one\ntwo\nthree", "100"),
        ("Dr Martin\x00", "U+0000"),
        ("Dr\x1bMartin", "U+001B"),
    ],
)
def test_hostile_signatures_are_refused_and_nothing_changes(
    client_bob: Client, operator: User, hostile: str, says: str
) -> None:
    operator.signature = "avant"
    operator.save()
    page = client_bob.post("/accounts/me/signature/", {"signature": hostile}, follow=True)
    assert says in page.content.decode()
    operator.refresh_from_db()
    assert operator.signature == "avant"
    with pytest.raises(CommandError, match=re.escape(says)):
        call_command("user", "set", operator.username, "--signature", hostile, stdout=StringIO())
    operator.refresh_from_db()
    assert operator.signature == "avant"


def test_the_command_sets_and_clears_it(operator: User) -> None:
    call_command("user", "set", operator.username, "--signature", SIGNATURE, stdout=StringIO())
    operator.refresh_from_db()
    assert operator.signature == SIGNATURE
    call_command("user", "set", operator.username, "--signature", "", stdout=StringIO())
    operator.refresh_from_db()
    assert operator.signature == ""


def test_the_page_takes_only_a_post(client_bob: Client) -> None:
    assert client_bob.get("/accounts/me/signature/").status_code == 405
    assert Client().post("/accounts/me/signature/", {"signature": "x"}).status_code == 302
