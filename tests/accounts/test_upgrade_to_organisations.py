"""An existing installation upgrades in place: a database of the release before organisations,
holding users, a token, contacts, a group, messages (a campaign, a received SMS), a discussion,
STOP entries and their history and confirmation settings, a call, the counters, a recurring
send, an auto-reply rule and a webhook endpoint with an event, is migrated; every row then
belongs to the default organisation, the users are its staff and every page works."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

BEFORE = [  # the last release without organisations
    ("accounts", "0005_token_scopes_expiry_rate"),
    ("messaging", "0014_recurrence_autoreply"),
    ("directory", "0005_search_names"),
    ("optout", "0004_never_text_stop_settings"),
    ("calls", "0003_keyset_indexes"),
    ("webhooks", "0001_initial"),
]
TABLES = [
    "accounts_apitoken",
    "messaging_campaign",
    "messaging_message",
    "messaging_conversation",
    "messaging_unreadentry",
    "messaging_dailycount",
    "directory_contact",
    "directory_contactfield",
    "directory_group",
    "optout_optout",
    "optout_optoutevent",
    "optout_stopsettings",
    "calls_call",
    "messaging_recurrence",
    "messaging_autoreply",
    "webhooks_endpoint",
    "webhooks_event",
]


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_an_installation_with_data_upgrades_into_the_default_organisation() -> None:
    _migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    now = timezone.now()
    User = old.get_model("accounts", "User")
    admin = User.objects.create(username="alice", role="admin", password="!")
    bob = User.objects.create(username="bob", role="operator", password="!")
    old.get_model("accounts", "ApiToken").objects.create(
        user=bob, name="crm", prefix="smsd_x", digest="d" * 64
    )
    Contact = old.get_model("directory", "Contact")
    martin = Contact.objects.create(name="Martin", number="+33612345678")
    group = old.get_model("directory", "Group").objects.create(name="Clients")
    group.contacts.add(martin)
    old.get_model("directory", "ContactField").objects.create(key="ville", label="Ville")
    campaign = old.get_model("messaging", "Campaign").objects.create(
        author=admin, body="Bonjour", send_at=now, recipient_count=1
    )
    Message = old.get_model("messaging", "Message")
    Message.objects.create(
        direction="out",
        status="delivered",
        peer="+33612345678",
        body="Bonjour",
        campaign=campaign,
        created_at=now,
        sent_at=now,
        status_at=now,
    )
    received = Message.objects.create(
        direction="in", status="unread", peer="+33612345678", body="Merci", created_at=now
    )
    old.get_model("messaging", "UnreadEntry").objects.create(message=received, created_at=now)
    old.get_model("messaging", "Conversation").objects.create(
        peer="+33612345678", last_at=now, last_body="Merci", last_direction="in", unread_count=1
    )
    old.get_model("messaging", "DailyCount").objects.create(
        day=now.date(), gateway="simulator", event="sent", count=1
    )
    old.get_model("optout", "OptOut").objects.create(number="+33699999999", source="sms")
    old.get_model("optout", "OptOutEvent").objects.create(
        number="+33699999999", action="added", source="sms", at=now
    )
    old.get_model("calls", "Call").objects.create(
        caller="+33612345678", gateway="simulator", at=now
    )
    old.get_model("optout", "StopSettings").objects.create(
        enabled=True, text="Vous ne recevrez plus nos SMS.", delay_hours=24
    )
    old.get_model("messaging", "Recurrence").objects.create(
        author=admin,
        body="Rappel",
        targets={"numbers": ["+33612345678"]},
        every="week",
        weekdays=[0],
        at="09:00",
        time_zone="Europe/Paris",
        next_at=now,
    )
    old.get_model("messaging", "AutoReply").objects.create(
        keyword="horaires", normalised="horaires", text="9h-18h"
    )
    endpoint = old.get_model("webhooks", "Endpoint").objects.create(
        url="https://crm.example/hook", events=["message.received"], secret="whsec_x"
    )
    event = old.get_model("webhooks", "Event").objects.create(
        type="message.received", created_at=now, data={"text": "Merci"}
    )
    old.get_model("webhooks", "Delivery").objects.create(
        endpoint=endpoint,
        event=event,
        order_key="+33612345678",
        next_attempt_at=now,
        created_at=now,
    )
    before = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            before[table] = cursor.fetchone()[0]
    assert all(before.values()), before

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from smsdesk.accounts.models import Organisation
    from smsdesk.accounts.models import User as NewUser

    [default] = Organisation.objects.all()
    assert default.slug == "default"
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f"SELECT count(*), count(*) FILTER (WHERE organisation_id = %s) FROM {table}"  # noqa: S608
                if connection.vendor == "postgresql"
                else f"SELECT count(*), sum(organisation_id = %s) FROM {table}",  # noqa: S608
                [default.id],
            )
            total, in_default = cursor.fetchone()
            assert (total, in_default) == (before[table], before[table]), table
    assert set(NewUser.objects.values_list("organisation_id", flat=True)) == {default.id}
    client = Client()
    client.force_login(NewUser.objects.get(username="alice"))
    for url in (
        "/",
        "/sms/sent/",
        "/sms/received/",
        "/sms/unread/",
        "/sms/conversations/",
        "/sms/campaigns/",
        "/directory/contacts/",
        "/directory/groups/",
        "/stop/",
        "/stop/history/",
        "/calls/",
        "/accounts/users/",
        "/gateways/",
        "/sms/recurring/",
        "/sms/autoreplies/",
        "/settings/webhooks/",
        "/statistics/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "rganisation" not in response.content.decode(), url  # never the word
