"""Contacts, groups and what a send's targets stand for."""

from __future__ import annotations

import pytest

from smsdesk.core.errors import ServiceError
from smsdesk.directory import errors, services
from smsdesk.directory.models import Contact, ContactField, Group
from smsdesk.directory.services import Targets
from smsdesk.messaging import sending
from smsdesk.messaging.models import Campaign, Message
from smsdesk.messaging.recipients import resolve_recipients
from smsdesk.optout import services as optout

pytestmark = pytest.mark.django_db


def test_a_contact_is_stored_in_e164_and_shown_national() -> None:
    contact = services.create_contact(name="  Dupont  ", number="06.12.34.56.78")
    assert (contact.name, contact.number) == ("Dupont", "+33612345678")
    assert services.display(contact.number) == "06 12 34 56 78"
    assert services.display("+447911123456") == "+44 7911 123456"


def test_one_contact_per_number_whatever_its_format() -> None:
    services.create_contact(name="Dupont", first_name="Jean", number="0612345678")
    with pytest.raises(errors.NumberTaken) as taken:
        services.create_contact(name="Autre", number="+33 6 12 34 56 78")
    assert taken.value.message == (
        "Le numéro 06 12 34 56 78 appartient déjà au contact « Jean Dupont »."
    )
    assert taken.value.http_status == 409 and taken.value.field == "number"
    other = services.create_contact(name="Autre", number="0698765432")
    with pytest.raises(errors.NumberTaken):
        services.update_contact(other.id, number="0612345678")


@pytest.mark.parametrize(
    "kwargs,field,message",
    [
        ({"name": "", "number": "0612345678"}, "name", "vide"),
        ({"name": "x" * 201, "number": "0612345678"}, "name", "trop long"),
        ({"name": "A", "number": "06 12"}, "number", "« 06 12 » n’est pas un numéro valide"),
        ({"name": "A", "number": "0612345678", "fields": {"nope": "x"}}, "fields", "nope"),
        ({"name": "A", "number": "0612345678", "groups": [999]}, "groups", "999"),
    ],
)
def test_bad_contacts_are_refused_field_by_field(kwargs, field, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as refused:
        services.create_contact(**kwargs)
    assert refused.value.field == field and message in refused.value.message
    assert not Contact.objects.exists()


def test_custom_fields_keep_only_defined_keys_and_drop_empty_values() -> None:
    ContactField.objects.create(key="city", label="Ville")
    contact = services.create_contact(
        name="A",
        number="0612345678",
        fields={
            "city": " Lyon ",
        },
    )
    assert contact.fields == {"city": "Lyon"}
    assert Contact.objects.filter(fields__city="Lyon").exists()  # queryable
    services.update_contact(contact.id, fields={"city": ""})
    assert Contact.objects.get().fields == {}


def test_groups_hold_a_contact_several_times_and_edit_members() -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    one = services.create_group(name="Un", contacts=[a.id, b.id])
    two = services.create_group(name="Deux", contacts=[a.id])
    assert sorted(a.groups.values_list("name", flat=True)) == ["Deux", "Un"]
    services.update_group(one.id, name="Premier", remove=[b.id])
    assert list(Group.objects.get(id=one.id).contacts.all()) == [a]
    with pytest.raises(errors.GroupNameTaken):
        services.update_group(two.id, name="premier")
    services.delete_groups([one.id])
    assert Contact.objects.count() == 2  # a group's contacts stay


def test_expand_deduplicates_numbers_contacts_and_groups_in_order() -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    group = services.create_group(name="G", contacts=[a.id, b.id])
    found = resolve_recipients(
        targets=Targets(
            numbers=["+33 6 12 34 56 78", "0611223344"], contacts=[b.id], groups=[group.id]
        )
    ).numbers
    assert found == ["+33612345678", "+33611223344", "+33698765432"]


def test_expand_names_unknown_contacts_and_groups() -> None:
    with pytest.raises(errors.UnknownTargets, match="42"):
        resolve_recipients(targets=Targets(contacts=[42]))
    with pytest.raises(errors.UnknownTargets, match="7"):
        resolve_recipients(targets=Targets(groups=[7]))


def test_summary_counts_duplicates_and_stop_numbers() -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    group = services.create_group(name="G", contacts=[a.id, b.id])
    optout.opt_out("+33698765432", source="sms")
    summary = resolve_recipients(targets=Targets(numbers=["0612345678"], groups=[group.id]))
    assert (summary.chosen, len(summary.numbers), summary.duplicates, summary.sendable) == (
        3,
        2,
        1,
        1,
    )


def test_create_campaign_sends_to_a_group_and_typed_numbers_once_each() -> None:
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    group = services.create_group(name="G", contacts=[a.id, b.id])
    campaign = sending.create_campaign(
        author=None,
        body="Bonjour",
        targets=Targets(numbers=["06 12 34 56 78", "0611223344"], groups=[group.id]),
    )
    assert sorted(Message.objects.values_list("peer", flat=True)) == [
        "+33611223344",
        "+33612345678",
        "+33698765432",
    ]
    assert campaign.recipient_count == 3
    assert Campaign.objects.get().targets["groups"] == [group.id]


def test_create_campaign_still_takes_to_alone() -> None:
    sending.create_campaign(author=None, body="x", to=["0612345678"])
    assert Message.objects.get().peer == "+33612345678"


def test_an_empty_group_is_nobody_to_text_and_nothing_is_stored() -> None:
    group = services.create_group(name="Vide")
    with pytest.raises(sending.errors.NoRecipients, match="personne"):
        sending.create_campaign(author=None, body="x", targets=Targets(groups=[group.id]))
    assert not Campaign.objects.exists()


def test_a_bad_typed_number_with_a_group_is_still_named() -> None:
    a = services.create_contact(name="A", number="0612345678")
    group = services.create_group(name="G", contacts=[a.id])
    with pytest.raises(sending.errors.InvalidNumbers, match="« 06 12 »"):
        sending.create_campaign(
            author=None, body="x", targets=Targets(numbers=["06 12"], groups=[group.id])
        )
    assert not Message.objects.exists()


def test_too_many_recipients_counts_group_members(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_MAX_RECIPIENTS = 1
    a = services.create_contact(name="A", number="0612345678")
    b = services.create_contact(name="B", number="0698765432")
    group = services.create_group(name="G", contacts=[a.id, b.id])
    with pytest.raises(sending.errors.TooManyRecipients):
        sending.create_campaign(author=None, body="x", targets=Targets(groups=[group.id]))


def test_lookup_by_number_or_exact_name() -> None:
    a = services.create_contact(name="Dupont", number="0612345678")
    services.create_contact(name="Martin", number="0698765432")
    services.create_contact(name="martin", number="0611223344")
    assert services.lookup_contact("+33 6 12 34 56 78") == a
    assert services.lookup_contact("dupont") == a
    with pytest.raises(errors.UnknownTargets, match="Plusieurs"):
        services.lookup_contact("Martin")
    with pytest.raises(errors.UnknownTargets, match="Aucun contact"):
        services.lookup_contact("Durand")
