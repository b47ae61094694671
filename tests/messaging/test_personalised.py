"""Personalised texts through create_campaign (web, API and CLI all reach it)."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from smsdesk.directory.models import Contact, ContactField
from smsdesk.directory.services import Targets
from smsdesk.messaging import errors, personal, sending
from smsdesk.messaging.models import Campaign, Conversation, Message


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    ContactField.objects.create(key="ville", label="Ville")
    lea = Contact.objects.create(
        name="Martin", first_name="Léa", number="+33612345678", fields={"ville": "Lyon"}
    )
    tom = Contact.objects.create(name="Durand", first_name="", number="+33698765432")
    return lea, tom


def test_each_recipient_gets_their_own_text(people) -> None:  # type: ignore[no-untyped-def]
    lea, tom = people
    campaign = sending.create_campaign(
        author=None,
        body="Bonjour {prénom|client} {NOM|}, à {ville|bientôt} ({numéro})",
        targets=Targets(contacts=[lea.id, tom.id], numbers=["0781234567"]),
        tag="relance",
    )
    bodies = {m.peer: m.body for m in campaign.created_messages}
    assert bodies == {
        "+33612345678": "Bonjour Léa Martin, à Lyon (06 12 34 56 78)",
        "+33698765432": "Bonjour client Durand, à bientôt (06 98 76 54 32)",
        "+33781234567": "Bonjour client , à bientôt (07 81 23 45 67)",
    }
    assert campaign.body.startswith("Bonjour {prénom|client}")  # the text as written
    assert campaign.tag == "relance"
    # the discussions show what each one got
    assert Conversation.objects.get(peer="+33612345678").last_body.startswith("Bonjour Léa")


def test_a_field_by_its_label_and_a_long_rendering_in_ucs2(people) -> None:  # type: ignore[no-untyped-def]
    lea, _tom = people
    campaign = sending.create_campaign(
        author=None, body="{Ville} ✓", targets=Targets(contacts=[lea.id])
    )
    message = campaign.created_messages.get()
    assert (message.body, message.encoding, message.segments) == ("Lyon ✓", "ucs2", 1)


def test_missing_fields_name_the_recipients_and_store_nothing(people) -> None:  # type: ignore[no-untyped-def]
    lea, tom = people
    with pytest.raises(errors.MissingFields) as e:
        sending.create_campaign(
            author=None,
            body="Bonjour {prénom}",
            targets=Targets(contacts=[lea.id, tom.id], numbers=["0781234567"]),
        )
    assert e.value.field == "text"
    assert "2 destinataires n’ont pas de valeur pour {prénom}" in e.value.message
    assert "Durand (06 98 76 54 32)" in e.value.message and "07 81 23 45 67" in e.value.message
    assert "Léa" not in e.value.message
    assert sorted(e.value.missing) == [("prénom", "+33698765432"), ("prénom", "+33781234567")]
    assert not Campaign.objects.exists() and not Message.objects.exists()


def test_at_most_ten_recipients_are_named(db) -> None:  # type: ignore[no-untyped-def]
    numbers = [f"06 12 34 56 {i:02d}" for i in range(15)]
    with pytest.raises(errors.MissingFields) as e:
        sending.create_campaign(author=None, body="{prénom}", to=numbers)
    assert "15 destinataires" in e.value.message
    assert e.value.message.count("06 12 34 56") == 10
    assert len(e.value.missing) == 15


def test_a_mistake_in_the_text_says_where(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.BadPlaceholder) as e:
        sending.create_campaign(author=None, body="Bonjour {prénom", to=["0612345678"])
    assert "caractère 9" in e.value.message and "{{" in e.value.message
    assert not Message.objects.exists()


@override_settings(SMSDESK_MAX_SEGMENTS=1)
def test_the_length_limit_applies_to_the_longest_rendering(people) -> None:  # type: ignore[no-untyped-def]
    lea, tom = people
    Contact.objects.filter(id=lea.id).update(first_name="L" * 100)
    with pytest.raises(errors.TextTooLong):
        sending.create_campaign(
            author=None,
            body="Bonjour {prénom|x} {prénom|x}",
            targets=Targets(contacts=[lea.id, tom.id]),
        )
    # the same text fits when every rendering does
    sending.create_campaign(
        author=None, body="Bonjour {prénom|x}", targets=Targets(contacts=[tom.id])
    )


def test_an_empty_rendering_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.EmptyText):
        sending.create_campaign(author=None, body="{prénom|}", to=["0612345678"])


def test_commercial_mention_goes_after_each_rendering(people) -> None:  # type: ignore[no-untyped-def]
    lea, _tom = people
    with override_settings(SMSDESK_COMMERCIAL_MENTION="STOP au 36180"):
        campaign = sending.create_campaign(
            author=None, body="Promo {prénom}", targets=Targets(contacts=[lea.id]), commercial=True
        )
    assert campaign.created_messages.get().body == "Promo Léa\nSTOP au 36180"


def test_extra_values_come_on_top(db) -> None:  # type: ignore[no-untyped-def]
    campaign = sending.create_campaign(
        author=None,
        body="Code {code}",
        to=["0612345678"],
        extra_fields={"+33612345678": {"Code": "A1"}},
    )
    assert campaign.created_messages.get().body == "Code A1"


def test_a_text_without_fields_has_its_double_braces_made_single(db) -> None:  # type: ignore[no-untyped-def]
    campaign = sending.create_campaign(author=None, body="Tarif {{spécial}}", to=["0612345678"])
    assert campaign.created_messages.get().body == "Tarif {spécial}"
    assert campaign.body == "Tarif {spécial}"


def test_preview_for_one_number(people) -> None:  # type: ignore[no-untyped-def]
    assert personal.preview("Bonjour {prénom}", "+33612345678") == "Bonjour Léa"
    with pytest.raises(errors.MissingFields):
        personal.preview("Bonjour {prénom}", "+33611111111")


def test_a_long_tag_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.TagTooLong):
        sending.create_campaign(author=None, body="x", to=["0612345678"], tag="x" * 51)
    assert not Campaign.objects.exists()


def test_the_preview_counts_what_the_send_stores_commercial_mention_included(  # type: ignore[no-untyped-def]
    people, client_bob
) -> None:
    # One SMS as typed; two once the opt-out mention is added for a commercial send.
    body = "Bonjour {prénom|client}, " + "les soldes commencent demain ! " * 4 + "A demain."
    typed = ["0612345678", "0698765432"]
    html = client_bob.post(
        "/sms/new/preview/", {"text": body, "numbers": typed, "commercial": "on"}
    ).content.decode()
    shown = re.search(r'id="preview-longest">[^<]*?(\d+) caractères, (\d+) SMS', html)
    assert shown is not None, html
    campaign = sending.create_campaign(author=None, body=body, to=typed, commercial=True)
    stored = max(campaign.messages.values_list("segments", flat=True))
    assert stored == 2 and int(shown.group(2)) == stored  # preview == send
    longest = max(campaign.messages.values_list("body", flat=True), key=len)
    assert int(shown.group(1)) == len(longest)
