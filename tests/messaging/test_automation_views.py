"""The pages of issue 20: recurring sends, auto-replies, the dynamic group editor."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.directory.models import Contact, ContactField, Group
from smsdesk.messaging.models import AutoReply, Message, Recurrence

REPEAT = {
    "text": "Rappel",
    "numbers": "0612345678",
    "repeat": "on",
    "every": "week",
    "on": ["mon", "thu"],
    "repeat_at": "09:00",
}


@pytest.fixture
def client_alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_new_sms_with_repeat_saves_a_recurring_send_and_lists_its_next_date(client_bob) -> None:  # type: ignore[no-untyped-def]
    response = client_bob.post("/sms/new/", REPEAT, follow=True)
    assert response.redirect_chain[-1][0] == "/sms/recurring/"
    rec = Recurrence.objects.get()
    assert not Message.objects.exists()
    html = response.content.decode()
    assert "Prochaine occurrence" in html
    assert f'data-recurrence-id="{rec.id}"' in html
    assert "Chaque semaine le lundi, jeudi à 09:00" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field",
    [
        ({"on": []}, "on"),
        ({"repeat_at": "25:00"}, "repeat_at"),
        ({"every": "year"}, "every"),
        ({"every": "month", "day": "zz"}, "day"),
        ({"until": "2001-01-01"}, "until"),
        ({"times": "-3"}, "times"),
    ],
)
def test_a_bad_repeat_shows_the_error_and_stores_nothing(client_bob, change, field) -> None:  # type: ignore[no-untyped-def]
    response = client_bob.post("/sms/new/", {**REPEAT, **change})
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()
    assert not Recurrence.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_pause_edit_delete(client_bob) -> None:  # type: ignore[no-untyped-def]
    client_bob.post("/sms/new/", REPEAT)
    rec = Recurrence.objects.get()
    client_bob.post(f"/sms/recurring/{rec.id}/pause/", {"paused": "1"})
    rec.refresh_from_db()
    assert rec.paused
    assert "en pause" in client_bob.get("/sms/recurring/").content.decode()
    edit = f"/sms/recurring/{rec.id}/edit/"
    assert client_bob.get(edit).status_code == 200
    assert "06 12 34 56 78" in client_bob.get(edit).content.decode()
    group = Group.objects.create(name="Équipe")
    refused = client_bob.post(
        edit, {"text": "x", "every": "day", "repeat_at": "10:30", "numbers": "12"}
    )
    assert refused.status_code == 400
    response = client_bob.post(
        edit,
        {
            "text": "Nouveau texte",
            "every": "day",
            "repeat_at": "10:30",
            "tag": "",
            "numbers": "0698765432",
            "groups": [str(group.id)],
        },
    )
    assert response.status_code == 302
    rec.refresh_from_db()
    assert (rec.body, rec.every, rec.at.hour) == ("Nouveau texte", "day", 10)
    assert rec.targets["numbers"] == ["+33698765432"] and rec.targets["groups"] == [group.id]
    client_bob.post(f"/sms/recurring/{rec.id}/delete/")
    assert not Recurrence.objects.exists()
    assert client_bob.post("/sms/recurring/999/delete/").status_code == 404


@pytest.mark.django_db
def test_an_operator_cannot_delete_an_administrators_recurring_send(
    client_alice, client_bob
) -> None:  # type: ignore[no-untyped-def]
    client_alice.post("/sms/new/", REPEAT)
    rec = Recurrence.objects.get()
    client_bob.post(f"/sms/recurring/{rec.id}/delete/")
    assert Recurrence.objects.exists()


@pytest.mark.django_db
def test_autoreplies_page_add_try_and_order(client_alice) -> None:  # type: ignore[no-untyped-def]
    response = client_alice.post(
        "/sms/autoreplies/",
        {"keyword": "horaires", "match": "word", "text": "Ouvert 9h-18h", "delay_minutes": "60"},
    )
    assert response.status_code == 302
    assert AutoReply.objects.get().match == "word"
    tried = client_alice.post("/sms/autoreplies/test/", {"sample": "Horaires svp"}).content.decode()
    assert "Ouvert 9h-18h" in tried
    stop = client_alice.post("/sms/autoreplies/test/", {"sample": "STOP"}).content.decode()
    assert "STOP" in stop and "Ouvert" not in stop
    bad = client_alice.post(
        "/sms/autoreplies/",
        {"keyword": "stop", "match": "whole", "text": "x", "delay_minutes": "0"},
    )
    assert bad.status_code == 400 and AutoReply.objects.count() == 1


@pytest.mark.django_db
def test_operators_see_the_rules_but_cannot_change_them(client_bob) -> None:  # type: ignore[no-untyped-def]
    assert client_bob.get("/sms/autoreplies/").status_code == 200
    response = client_bob.post(
        "/sms/autoreplies/", {"keyword": "x", "match": "whole", "text": "y", "delay_minutes": "60"}
    )
    assert response.status_code == 403 and not AutoReply.objects.exists()


@pytest.mark.django_db
def test_dynamic_group_editor_counts_live_and_saves(client_bob) -> None:  # type: ignore[no-untyped-def]
    ContactField.objects.create(key="ville", label="Ville")
    Contact.objects.create(name="Ana", number="+33611111111", fields={"ville": "Lyon"})
    Contact.objects.create(name="Bob", number="+33622222222", fields={"ville": "Paris"})
    rule = {"mode": "any", "field-0": "ville", "op-0": "in", "value-0": "Lyon, Nice"}
    count = client_bob.post("/directory/groups/rule-count/", rule).content.decode()
    assert 'data-count="1"' in count
    bad = client_bob.post("/directory/groups/rule-count/", {"field-0": "pays", "op-0": "equals"})
    assert "rule-error" in bad.content.decode()
    response = client_bob.post("/directory/groups/new-dynamic/", {"name": "Sud-Est", **rule})
    assert response.status_code == 302
    group = Group.objects.get()
    assert group.rule == {"any": [{"field": "ville", "op": "in", "value": ["Lyon", "Nice"]}]}
    page = client_bob.get(f"/directory/groups/{group.id}/edit/").content.decode()
    assert 'value="Lyon, Nice"' in page
    assert "dynamique" in client_bob.get("/directory/groups/").content.decode()
