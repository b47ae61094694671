"""Programmés (issue 21): scheduled sends listed, edited until they start, cancelled; and
cancelled messages put back in the queue, never re-texting those that already got the SMS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.directory import services as directory
from smsdesk.directory.services import Targets
from smsdesk.messaging import actions, campaigns, lifecycle, sending
from smsdesk.messaging.models import Campaign, Message, OutboxEntry
from tests.messaging.test_campaigns import set_states

pytestmark = pytest.mark.django_db
S = Message.Status
NUMBERS = ["0612345601", "0612345602", "0612345603"]


def scheduled(author: User | None, *, hours: int = 5, numbers=NUMBERS) -> Campaign:  # type: ignore[no-untyped-def]
    return sending.create_campaign(
        author=author,
        body="Réunion demain",
        to=numbers,
        send_at=timezone.now() + timedelta(hours=hours),
    )


def claim_at(moment):  # type: ignore[no-untyped-def]
    return lifecycle.claim(gateway="simulator", worker_id="w", limit=100, now=moment)


def test_the_list_shows_what_is_still_to_come(client_bob: Client, operator: User) -> None:
    later = scheduled(operator)
    sending.create_campaign(author=operator, body="Maintenant", to=["0698765432"])
    gone = scheduled(operator, hours=2)
    campaigns.cancel_campaign(gone.id, by=operator)
    rows = campaigns.scheduled_campaigns()
    assert [(c.id, counts["waiting"]) for c, counts in rows] == [(later.id, 3)]
    html = client_bob.get("/sms/scheduled/").content.decode()
    assert "SMS programmés" in html and "Réunion demain" in html and "Maintenant" not in html
    assert f'href="/sms/campaigns/{later.id}/edit/"' in html
    assert f'href="/sms/campaigns/{later.id}/cancel/"' in html


def test_an_edit_changes_text_time_and_recipients_and_sends_at_the_new_time(
    operator: User,
) -> None:
    old = scheduled(operator, hours=5)
    new_time = timezone.now() + timedelta(hours=2)
    new = campaigns.edit_scheduled(
        old.id,
        by=operator,
        body="Réunion avancée",
        targets=Targets(numbers=["0612345601", "0612345609"]),
        send_at=new_time,
        commercial=False,
        tag="ag",
    )
    assert {m.status for m in old.messages.all()} == {S.CANCELLED}
    assert sorted(new.messages.values_list("peer", "status", "body")) == [
        ("+33612345601", S.SCHEDULED, "Réunion avancée"),
        ("+33612345609", S.SCHEDULED, "Réunion avancée"),
    ]
    assert Campaign.objects.get(id=old.id).targets["replaced_by"] == new.id
    assert not OutboxEntry.objects.filter(message_id__in=old.messages.values("id")).exists()
    assert claim_at(timezone.now() + timedelta(hours=1)) == []  # not before its new time
    taken = claim_at(new_time + timedelta(seconds=1))
    assert sorted(c.peer for c in taken) == ["+33612345601", "+33612345609"]
    assert claim_at(timezone.now() + timedelta(hours=6)) == []  # the old version never goes


def test_an_edit_is_refused_once_the_send_has_started(operator: User) -> None:
    old = scheduled(operator)
    Message.objects.filter(id=old.messages.first().id).update(status=S.QUEUED)  # type: ignore[union-attr]
    with pytest.raises(actions.NotActionable, match="commencé"):
        campaigns.edit_scheduled(
            old.id,
            by=operator,
            body="x",
            targets=Targets(numbers=["0612345601"]),
            send_at=None,
            commercial=False,
            tag="",
        )
    assert Campaign.objects.count() == 1
    assert Message.objects.filter(status=S.SCHEDULED).count() == 2


def test_an_edited_version_is_not_edited_nor_put_back_again(operator: User) -> None:
    old = scheduled(operator)
    kwargs = dict(
        by=operator,
        body="v2",
        targets=Targets(numbers=NUMBERS),
        send_at=timezone.now() + timedelta(hours=3),
        commercial=False,
        tag="",
    )
    new = campaigns.edit_scheduled(old.id, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(actions.NotActionable, match=rf"campagne {new.id}|campaign {new.id}"):
        campaigns.edit_scheduled(old.id, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(actions.NotActionable):
        campaigns.requeue_campaign(old.id, by=operator)
    assert Message.objects.filter(campaign=old, status=S.CANCELLED).count() == 3


def test_a_bad_edit_changes_nothing(operator: User) -> None:
    old = scheduled(operator)
    with pytest.raises(Exception, match=r"numéro|number"):
        campaigns.edit_scheduled(
            old.id,
            by=operator,
            body="ok",
            targets=Targets(numbers=["06 12 ab"]),
            send_at=None,
            commercial=False,
            tag="",
        )
    assert Campaign.objects.count() == 1
    assert set(old.messages.values_list("status", flat=True)) == {S.SCHEDULED}


def test_only_its_author_or_an_admin_edits_or_puts_back(operator: User, admin_user: User) -> None:
    other = User.objects.create_user("carol", password="correct horse 42")
    old = scheduled(operator)
    with pytest.raises(campaigns.NotAllowed):
        campaigns.requeue_campaign(old.id, by=other)
    client = Client()
    client.force_login(other)
    assert client.post(f"/sms/campaigns/{old.id}/edit/", {"text": "pirate"}).status_code == 403
    assert set(old.messages.values_list("body", flat=True)) == {"Réunion demain"}


def test_the_edit_page_is_new_sms_filled_with_the_send(client_bob: Client, operator: User) -> None:
    contact = directory.create_contact(name="DURAND", first_name="Hélène", number="0611111111")
    old = sending.create_campaign(
        author=operator,
        body="Bonjour {prénom|client}",
        targets=Targets(numbers=["0612345601"], contacts=[contact.id]),
        send_at=timezone.now() + timedelta(days=1),
    )
    html = client_bob.get(f"/sms/campaigns/{old.id}/edit/").content.decode()
    assert "Modifier un SMS programmé" in html and "Bonjour {prénom|client}</textarea>" in html
    assert "+33612345601</textarea>" in html and "Hélène DURAND" in html
    when = timezone.localtime(old.send_at).strftime("%Y-%m-%dT%H:%M")
    response = client_bob.post(
        f"/sms/campaigns/{old.id}/edit/",
        {
            "text": "Bonsoir {prénom|client}",
            "numbers": "0612345601",
            "contacts": [str(contact.id)],
            "send_at": when,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/sms/scheduled/"
    new = Campaign.objects.latest("id")
    assert dict(new.messages.values_list("peer", "body")) == {
        "+33612345601": "Bonsoir client",
        "+33611111111": "Bonsoir Hélène",
    }


def test_cancelled_messages_go_back_and_those_delivered_are_not_texted_again(
    client_bob: Client, operator: User
) -> None:
    campaign = sending.create_campaign(author=operator, body="AG", to=NUMBERS)
    delivered, *_rest = set_states(campaign, S.DELIVERED)
    campaigns.cancel_campaign(campaign.id, by=operator)
    page = client_bob.get(f"/sms/campaigns/{campaign.id}/requeue/").content.decode()
    assert "2 messages annulés de cette campagne seront remis en file d’attente" in page
    assert "1 message de la même campagne est déjà parti (1 délivré)" in page
    assert client_bob.post(f"/sms/campaigns/{campaign.id}/requeue/").status_code == 302
    statuses = dict(campaign.messages.values_list("peer", "status"))
    assert statuses == {
        "+33612345601": S.DELIVERED,
        "+33612345602": S.QUEUED,
        "+33612345603": S.QUEUED,
    }
    taken = claim_at(timezone.now() + timedelta(seconds=1))
    assert sorted(c.peer for c in taken) == ["+33612345602", "+33612345603"]
    assert delivered.id not in {c.sms.id for c in taken}
    counts = campaigns.counts([campaign.id])[campaign.id]
    assert (counts["cancelled"], counts["waiting"], counts["delivered"]) == (0, 2, 1)


def test_a_send_put_back_before_its_time_waits_for_it(operator: User) -> None:
    campaign = scheduled(operator, hours=4)
    campaigns.cancel_campaign(campaign.id, by=operator)
    assert campaigns.requeue_campaign(campaign.id, by=operator) == 3
    assert set(campaign.messages.values_list("status", flat=True)) == {S.SCHEDULED}
    assert claim_at(timezone.now() + timedelta(hours=1)) == []
    assert len(claim_at(campaign.send_at + timedelta(seconds=1))) == 3


def test_a_number_that_said_stop_since_is_blocked_not_put_back(operator: User) -> None:
    from smsdesk.optout import services as optout

    campaign = sending.create_campaign(author=operator, body="AG", to=NUMBERS)
    campaigns.cancel_campaign(campaign.id, by=operator)
    optout.opt_out("+33612345603", source="sms", keyword="STOP")
    campaigns.requeue_campaign(campaign.id, by=operator)
    assert dict(campaign.messages.values_list("peer", "status"))["+33612345603"] == S.BLOCKED


def test_one_cancelled_message_put_back_names_the_contact(
    client_bob: Client, operator: User
) -> None:
    directory.create_contact(name="DURAND", first_name="Hélène", number="0612345601")
    campaign = sending.create_campaign(author=operator, body="AG", to=NUMBERS[:1])
    message = campaign.messages.get()
    confirm = client_bob.get(f"/sms/messages/{message.id}/cancel/").content.decode()
    assert "Hélène DURAND (06 12 34 56 01)" in confirm and "+33612345601" not in confirm
    client_bob.post(f"/sms/messages/{message.id}/cancel/")
    sent_list = client_bob.get("/sms/sent/").content.decode()
    assert f'href="/sms/messages/{message.id}/requeue/' in sent_list
    page = client_bob.get(f"/sms/messages/{message.id}/requeue/").content.decode()
    assert "Remettre en file d’attente ce SMS à Hélène DURAND (06 12 34 56 01)" in page
    client_bob.post(f"/sms/messages/{message.id}/requeue/")
    assert Message.objects.get(id=message.id).status == S.QUEUED
    with pytest.raises(actions.NotActionable):
        actions.requeue_message(message.id, by=operator)
