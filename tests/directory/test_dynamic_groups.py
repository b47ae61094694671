"""Dynamic groups: members computed from the contacts' fields when read, in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from smsdesk.core import tenancy
from smsdesk.directory import errors, services
from smsdesk.directory.models import ContactField
from smsdesk.messaging import sending

LYON = {"all": [{"field": "ville", "op": "equals", "value": "Lyon"}]}


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    ContactField.objects.create(key="ville", label="Ville")
    ContactField.objects.create(key="statut", label="Statut")
    return {
        "ana": services.create_contact(name="Ana", number="0611111111", fields={"ville": "Lyon"}),
        "bob": services.create_contact(name="Bob", number="0622222222", fields={"ville": "LYON"}),
        "cyd": services.create_contact(
            name="Cyd", number="0633333333", fields={"ville": "Paris", "statut": "client"}
        ),
        "dan": services.create_contact(name="Dan", number="0644444444", first_name="Daniel"),
    }


def members(rule: dict) -> list[str]:
    return sorted(services.rule_members(services.check_rule(rule)).values_list("name", flat=True))


def test_each_operator(people) -> None:  # type: ignore[no-untyped-def]
    assert members(LYON) == ["Ana", "Bob"]
    assert members({"all": [{"field": "ville", "op": "contains", "value": "ari"}]}) == ["Cyd"]
    assert members({"all": [{"field": "name", "op": "starts_with", "value": "d"}]}) == ["Dan"]
    assert members({"all": [{"field": "ville", "op": "is_empty"}]}) == ["Dan"]
    assert members({"all": [{"field": "first_name", "op": "is_empty"}]}) == ["Ana", "Bob", "Cyd"]
    both = {"field": "ville", "op": "in", "value": ["paris", "Marseille"]}
    assert members({"all": [both]}) == ["Cyd"]
    mixed = [
        {"field": "ville", "op": "equals", "value": "Lyon"},
        {"field": "statut", "op": "equals", "value": "client"},
    ]
    assert members({"any": mixed}) == ["Ana", "Bob", "Cyd"]
    assert members({"all": mixed}) == []


def test_members_follow_a_contacts_field_change(people) -> None:  # type: ignore[no-untyped-def]
    group = services.create_group(name="Lyonnais", rule=LYON)
    assert services.members([], [group.id])[0] == ["+33611111111", "+33622222222"]
    services.update_contact(people["cyd"].id, fields={"ville": "Lyon", "statut": "client"})
    services.update_contact(people["ana"].id, fields={"ville": "Nice"})
    assert sorted(services.members([], [group.id])[0]) == ["+33622222222", "+33633333333"]
    campaign = sending.create_campaign(
        author=None, body="Bonjour", targets=services.Targets(groups=[group.id])
    )
    assert sorted(m.peer for m in campaign.created_messages) == ["+33622222222", "+33633333333"]


def test_the_members_are_one_query(people) -> None:  # type: ignore[no-untyped-def]
    rule = services.check_rule(
        {"any": [LYON["all"][0], {"field": "name", "op": "contains", "value": "y"}]}
    )
    org = tenancy.sole_organisation()
    with CaptureQueriesContext(connection) as queries:
        list(services.rule_members(rule, org=org).values_list("number", flat=True))
    assert len(queries) == 1


@pytest.mark.parametrize(
    "rule",
    [
        None,
        [],
        "ville=Lyon",
        {},
        {"all": []},
        {"all": LYON["all"], "any": LYON["all"]},
        {"none": LYON["all"]},
        {"all": [{"field": "pays", "op": "equals", "value": "FR"}]},
        {"all": [{"field": "ville", "op": "regex", "value": ".*"}]},
        {"all": [{"field": "ville", "op": "equals"}]},
        {"all": [{"field": "ville", "op": "equals", "value": ""}]},
        {"all": [{"field": "ville", "op": "equals", "value": ["Lyon"]}]},
        {"all": [{"field": "ville", "op": "equals", "value": True}]},
        {"all": [{"field": "ville", "op": "equals", "value": "x" * 201}]},
        {"all": [{"field": "ville", "op": "equals", "value": "a\x00b"}]},
        {"all": [{"field": "ville", "op": "in", "value": []}]},
        {"all": [{"field": "ville", "op": "in", "value": "Lyon"}]},
        {"all": [{"field": "ville", "op": "is_empty", "value": "x"}]},
        {"all": [{"field": "ville", "op": "equals", "value": "Lyon", "sql": "1"}]},
        {"all": [{"field": "fields__ville", "op": "equals", "value": "Lyon"}]},
        {"all": ["ville"]},
        {"all": [LYON["all"][0]] * 21},
    ],
)
def test_hostile_rules_are_refused_and_nothing_stored(people, rule) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.InvalidRule) as e:
        services.create_group(name="X", rule=rule if rule is not None else "null")
    assert e.value.field == "rule"
    assert not services.group_list().filter(name="X").exists()


def test_a_dynamic_group_has_no_chosen_members(people) -> None:  # type: ignore[no-untyped-def]
    group = services.create_group(name="Lyonnais", rule=LYON)
    with pytest.raises(errors.InvalidRule):
        services.update_group(group.id, add=[people["dan"].id])
    with pytest.raises(errors.InvalidRule):
        services.create_group(name="Y", rule=LYON, contacts=[people["dan"].id])
    plain = services.create_group(name="Z")
    with pytest.raises(errors.InvalidRule):
        services.update_group(plain.id, rule=LYON)
