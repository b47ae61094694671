"""Auto-replies (issue 20, what was left): "tag the conversation" (Conversation.tags, found
by the discussions' search) and editing a rule in place (page, PATCH, `autoreply set`)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.core.errors import ServiceError
from smsdesk.directory import services as directory
from smsdesk.messaging import autoreplies, receiving
from smsdesk.messaging.models import AutoReply, AutoReplyHit, Conversation, Message

PEER = "+33612345678"
OUT = Message.Direction.OUTBOUND


def inbound(text: str, sender: str = PEER) -> None:
    receiving.receive_inbound(
        gateway="simulator", sender=sender, text=text, received_at=timezone.now()
    )


def answers(peer: str = PEER) -> list[str]:
    return list(
        Message.objects.filter(direction=OUT, peer=peer)
        .order_by("id")
        .values_list("body", flat=True)
    )


@pytest.fixture
def alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


# --- tag the conversation -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_rule_tags_the_discussion_once_and_the_search_finds_it(alice: Client) -> None:
    autoreplies.create_rule(by=None, keyword="rdv", text="Appelez le 01", tag="rendez-vous")
    autoreplies.create_rule(by=None, keyword="prix", text="Voir le site", tag="tarifs")
    inbound("RDV")
    inbound("rdv", sender="+33698765432")
    inbound("Prix")
    conversation = Conversation.objects.get(peer=PEER)
    assert conversation.tags == " rendez-vous tarifs "
    autoreplies.add_conversation_tag(PEER, "Tarifs", org=conversation.organisation)  # once
    assert Conversation.objects.get(peer=PEER).tags == " rendez-vous tarifs "
    found = alice.get("/sms/conversations/?q=tarifs").content.decode()
    assert "#tarifs" in found and "98 76 54 32" not in found
    both = alice.get("/sms/conversations/?q=%23rendez-vous").content.decode()
    assert "12 34 56 78" in both and "98 76 54 32" in both
    assert (
        "tarif"
        not in alice.get("/sms/conversations/?q=tarif")
        .content.decode()
        .split('class="list-group"')[1]
    )  # a tag is a word: part of one does not find it
    page = alice.get(f"/sms/conversations/{conversation.id}/").content.decode()
    assert 'id="conversation-tags"' in page and "#rendez-vous" in page


@pytest.mark.django_db
def test_no_tag_on_a_stop_number_nor_when_the_rule_does_not_answer() -> None:
    autoreplies.create_rule(by=None, keyword="rdv", text="Oui", tag="rdv", delay_minutes=60)
    inbound("STOP")
    inbound("rdv")
    assert Conversation.objects.get(peer=PEER).tags == ""
    assert answers() == [] or all("rdv" not in a.lower() for a in answers())


@pytest.mark.django_db
def test_full_tags_keep_what_they_have() -> None:
    inbound("bonjour")
    conversation = Conversation.objects.get(peer=PEER)
    for i in range(40):
        autoreplies.add_conversation_tag(PEER, f"etiquette-{i:03d}", org=conversation.organisation)
    tags = Conversation.objects.get(peer=PEER).tags
    assert len(tags) <= autoreplies.MAX_TAGS_CHARS and tags.startswith(" etiquette-000 ")


@pytest.mark.parametrize(
    "tag",
    ["deux mots", "x" * 51, "bip\x07", "tab\tulé", "\u200b", 42, ["a"]],
)
@pytest.mark.django_db
def test_hostile_tags_are_refused(tag) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as refused:
        autoreplies.create_rule(by=None, keyword="rdv", text="Oui", tag=tag)
    assert refused.value.field == "tag"
    assert not AutoReply.objects.exists()


# --- editing a rule -----------------------------------------------------------------------


@pytest.mark.django_db
def test_update_changes_only_what_is_given_and_keeps_order_and_claims() -> None:
    first = autoreplies.create_rule(by=None, keyword="horaires", text="9h-18h")
    second = autoreplies.create_rule(by=None, keyword="adresse", text="1 rue X")
    inbound("horaires")
    rule = autoreplies.update_rule(first.id, by=None, text="8h-19h", match="word")
    assert (rule.keyword, rule.text, rule.match, rule.position) == (
        "horaires",
        "8h-19h",
        "word",
        first.position,
    )
    assert AutoReplyHit.objects.filter(rule=first).exists()  # its delay still holds
    inbound("horaires svp")
    assert answers() == ["9h-18h"]
    autoreplies.update_rule(second.id, by=None, active=False)
    inbound("adresse", sender="+33698765432")
    assert answers("+33698765432") == []


@pytest.mark.django_db
def test_update_checks_every_field_and_writes_nothing_when_one_is_wrong(operator: User) -> None:
    rule = autoreplies.create_rule(by=None, keyword="horaires", text="9h-18h")
    for changes in (
        {"keyword": "STOP"},
        {"keyword": ""},
        {"match": "regex"},
        {"text": ""},
        {"text": "{prénom}"},  # a field without default
        {"delay_minutes": 0},
        {"delay_minutes": "1e3"},
        {"gateway": "absent"},
        {"group": 987654321},
        {"group": "1; DROP"},
        {"tag": "a b"},
        {"active": "yes"},
        {"text": "ok", "keyword": "bip\x07"},
    ):
        with pytest.raises(ServiceError):
            autoreplies.update_rule(rule.id, by=None, **changes)
        rule.refresh_from_db()
        assert (rule.keyword, rule.text, rule.match) == ("horaires", "9h-18h", "whole"), changes
    with pytest.raises(ServiceError):
        autoreplies.update_rule(rule.id, by=operator, text="x")
    with pytest.raises(ServiceError):
        autoreplies.update_rule(987654321, by=None, text="x")


@pytest.mark.django_db
def test_the_edit_page_shows_the_rule_and_saves_it(alice: Client) -> None:
    group = directory.create_group(name="Clients")
    rule = autoreplies.create_rule(by=None, keyword="rdv", text="Oui", group=group.id)
    listing = alice.get("/sms/autoreplies/").content.decode()
    assert f'href="/sms/autoreplies/{rule.id}/edit/"' in listing
    form = alice.get(f"/sms/autoreplies/{rule.id}/edit/").content.decode()
    assert 'value="rdv"' in form and 'value="Clients"' in form and 'id="id_active"' in form
    saved = alice.post(
        f"/sms/autoreplies/{rule.id}/edit/",
        {
            "keyword": "rendez-vous",
            "match": "word",
            "text": "Appelez-nous",
            "delay_minutes": "30",
            "gateway": "",
            "group": "",
            "tag": "rdv",
        },
    )
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.keyword, rule.match, rule.delay_minutes, rule.group_id, rule.tag) == (
        "rendez-vous",
        "word",
        30,
        None,
        "rdv",
    )
    assert rule.active is False  # the box was not ticked
    bad = alice.post(
        f"/sms/autoreplies/{rule.id}/edit/",
        {"keyword": "x\x00y", "match": "whole", "text": "t", "delay_minutes": "-1", "tag": "a b"},
    )
    assert bad.status_code == 400
    rule.refresh_from_db()
    assert rule.keyword == "rendez-vous"
    assert alice.get("/sms/autoreplies/987654321/edit/").status_code == 404


@pytest.mark.django_db
def test_an_operator_cannot_edit(client_bob: Client) -> None:
    rule = autoreplies.create_rule(by=None, keyword="rdv", text="Oui")
    assert client_bob.get(f"/sms/autoreplies/{rule.id}/edit/").status_code == 403
    client_bob.post(
        f"/sms/autoreplies/{rule.id}/edit/",
        {"keyword": "x", "match": "whole", "text": "t", "delay_minutes": "5"},
    )
    rule.refresh_from_db()
    assert rule.keyword == "rdv"


@pytest.mark.django_db
def test_patch_by_the_api(admin_user: User, operator: User) -> None:
    _token, raw = accounts.create_token(user=admin_user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    created = api.post(
        "/api/v1/autoreplies",
        json.dumps({"keyword": "rdv", "text": "Oui", "tag": "rdv"}),
        content_type="application/json",
    ).json()
    assert created["tag"] == "rdv" and created["active"] is True

    def patch(body: object, rule_id: int = created["id"]):  # type: ignore[no-untyped-def]
        return api.patch(
            f"/api/v1/autoreplies/{rule_id}", json.dumps(body), content_type="application/json"
        )

    changed = patch({"text": "Appelez le 01", "active": False, "tag": ""})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["text"], changed.json()["active"], changed.json()["tag"]) == (
        "Appelez le 01",
        False,
        "",
    )
    assert changed.json()["keyword"] == "rdv"
    for body, status in (
        ({"keyword": "STOP"}, 400),
        ({"unknown": 1}, 400),
        ({"delay_minutes": 0}, 422),
        ({"text": None}, 400),
        ({"group": 0}, 422),
        ({"tag": "bip\u0007"}, 400),
        ({"keyword": "x" * 201}, 422),
        ([1, 2], 422),
    ):
        assert patch(body).status_code == status, body
    assert patch({"text": "x"}, 987654321).status_code == 404
    assert AutoReply.objects.get().text == "Appelez le 01"
    _token, raw = accounts.create_token(user=operator)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    refused = other.patch(
        f"/api/v1/autoreplies/{created['id']}",
        json.dumps({"text": "pirate"}),
        content_type="application/json",
    )
    assert refused.status_code == 403


@pytest.mark.django_db
def test_autoreply_set_on_the_command_line() -> None:
    directory.create_group(name="Clients")
    call_command("autoreply", "add", "rdv", "--text", "Oui", "--tag", "rdv", stdout=io.StringIO())
    rule = AutoReply.objects.get()
    out = io.StringIO()
    call_command(
        "autoreply",
        "set",
        str(rule.id),
        "--text",
        "Appelez",
        "--group",
        "Clients",
        "--paused",
        stdout=out,
    )
    rule.refresh_from_db()
    assert (rule.text, rule.group is not None, rule.active, rule.tag) == (
        "Appelez",
        True,
        False,
        "rdv",
    )
    call_command("autoreply", "set", str(rule.id), "--group", "", "--tag", "", "--active")
    rule.refresh_from_db()
    assert (rule.group_id, rule.tag, rule.active) == (None, "", True)
    listed = io.StringIO()
    call_command("autoreply", "list", stdout=listed)
    assert "\ton\t" in listed.getvalue()
    for args in (
        [str(rule.id)],  # nothing to change
        [str(rule.id), "--keyword", "STOP"],
        [str(rule.id), "--tag", "a b"],
        [str(rule.id), "--text", "x\x1b[31m"],
        [str(rule.id), "--group", "absent"],
        ["987654321", "--text", "x"],
        [str(rule.id), "--delay", "0"],
    ):
        with pytest.raises(CommandError) as refused:
            call_command("autoreply", "set", *args, stdout=io.StringIO())
        assert "\n" not in str(refused.value), args
    rule.refresh_from_db()
    assert rule.text == "Appelez"
