"""Every action of the audit log, performed through its service (or page), leaves exactly
one entry, of that action, with who did it. The table must name every `Action`: a new
action without a row here fails, and so does a service that stops recording."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from smsdesk.accounts import services as accounts
from smsdesk.accounts import twofactor
from smsdesk.accounts.models import User
from smsdesk.audit import context
from smsdesk.audit.models import Action, Entry
from smsdesk.directory import exports as directory_exports
from smsdesk.directory import imports
from smsdesk.directory import services as directory
from smsdesk.messaging import actions, campaigns, sending
from smsdesk.messaging import exports as message_exports
from smsdesk.messaging.models import GatewayState, Message
from smsdesk.optout import services as optout
from smsdesk.retention import services as retention
from tests.messaging.test_campaigns import set_states

PASSWORD = "correct horse 42"
S = Message.Status


def _campaign(bob: User, n: int = 1) -> Any:
    return sending.create_campaign(
        author=bob, body="Bonjour", to=[f"+3361234567{i}" for i in range(n)]
    )


def _login(ok: bool) -> Callable[[Any], Any]:
    def act(_s: Any) -> None:
        Client().post(
            "/accounts/login/", {"username": "bob", "password": PASSWORD if ok else "wrong"}
        )

    return act


def _code_failed_setup(w: Any) -> Client:
    TOTPDevice.objects.create(user=w.bob, name="app", confirmed=True)
    c = Client()
    c.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    return c


def _failed_message(w: Any) -> Message:
    campaign = _campaign(w.bob)
    return set_states(campaign, S.FAILED)[0]


def _failed_campaign(w: Any) -> Any:
    campaign = _campaign(w.bob, 2)
    set_states(campaign, S.FAILED, S.FAILED)
    return campaign


def _two_factor_setup(w: Any) -> Any:
    return twofactor.start_setup(w.bob).device


def _two_factor_on(device: Any) -> None:
    from tests.accounts.test_two_factor import code_for

    twofactor.confirm_setup(device.user, code_for(device))


CASES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    # action: (set-up, not counted; the act, which must write exactly one entry)
    Action.LOGIN: (lambda w: None, _login(True)),
    Action.LOGIN_FAILED: (lambda w: None, _login(False)),
    Action.LOGIN_CODE_FAILED: (
        _code_failed_setup,
        lambda c: c.post("/accounts/login/code/", {"code": "000000"}),
    ),
    Action.SEND: (lambda w: w.bob, lambda bob: _campaign(bob, 3)),
    Action.CANCEL: (
        lambda w: _campaign(w.bob).created_messages[0],
        lambda m: actions.cancel_message(m.id, by=m.author),
    ),
    Action.RETRY: (_failed_message, lambda m: actions.retry_message(m.id, by=m.author)),
    Action.CONTACT_CREATE: (
        lambda w: None,
        lambda _s: directory.create_contact(name="Ana", number="+33611111111"),
    ),
    Action.CONTACT_UPDATE: (
        lambda w: directory.create_contact(name="Ana", number="+33611111111"),
        lambda c: directory.update_contact(c.id, name="Anna"),
    ),
    Action.CONTACT_DELETE: (
        lambda w: [
            directory.create_contact(name=f"A{i}", number=f"+3361111111{i}") for i in range(3)
        ],
        lambda cs: directory.delete_contacts([c.id for c in cs]),
    ),
    Action.GROUP_CREATE: (lambda w: None, lambda _s: directory.create_group(name="Club")),
    Action.GROUP_UPDATE: (
        lambda w: directory.create_group(name="Club"),
        lambda g: directory.update_group(g.id, name="Club 2"),
    ),
    Action.GROUP_DELETE: (
        lambda w: directory.create_group(name="Club"),
        lambda g: directory.delete_groups([g.id]),
    ),
    Action.STOP_ADD: (
        lambda w: w.alice,
        lambda alice: optout.add_number("+33622222222", by=alice, reason="asked by phone"),
    ),
    Action.STOP_REMOVE: (
        lambda w: optout.add_number("+33622222222", by=w.alice, reason="x") and w.alice,
        lambda alice: optout.remove_number("+33622222222", by=alice, reason="asked again"),
    ),
    Action.IMPORT: (
        lambda w: None,
        lambda _s: imports.apply(b"name;number\nAna;+33611111111\nBob;+33611111112\n"),
    ),
    Action.EXPORT: (
        lambda w: directory.create_contact(name="Ana", number="+33611111111"),
        lambda _c: list(directory_exports.csv_chunks(directory.contact_list())),
    ),
    Action.USER_CREATE: (
        lambda w: None,
        lambda _s: accounts.create_user(username="zoe", password=PASSWORD, email="z@example.org"),
    ),
    Action.USER_ROLE: (lambda w: w.bob, lambda bob: accounts.set_role(user=bob, role="admin")),
    Action.USER_SUSPEND: (lambda w: w.bob, lambda bob: accounts.set_active(user=bob, active=False)),
    Action.USER_REACTIVATE: (
        lambda w: accounts.set_active(user=w.bob, active=False),
        lambda bob: accounts.set_active(user=bob, active=True),
    ),
    Action.PASSWORD_RESET: (lambda w: w.bob, lambda bob: accounts.reset_password(user=bob)),
    Action.PASSWORD_CHANGE: (
        lambda w: _logged_in(w.bob),
        lambda c: c.post(
            "/accounts/me/password/",
            {
                "old_password": PASSWORD,
                "new_password": "new horse 99 x",
                "new_password_again": "new horse 99 x",
            },
        ),
    ),
    Action.TOKEN_CREATE: (lambda w: w.bob, lambda bob: accounts.create_token(user=bob, name="crm")),
    Action.TOKEN_REVOKE: (
        lambda w: accounts.create_token(user=w.bob)[0],
        lambda t: accounts.revoke_token(user=t.user, token_id=t.id),
    ),
    Action.TWO_FACTOR_ON: (_two_factor_setup, _two_factor_on),
    Action.TWO_FACTOR_OFF: (lambda w: w.bob, lambda bob: twofactor.disable(bob)),
    Action.PURGE: (
        lambda w: Entry.objects.create(at=timezone.now() - timedelta(days=400), action="settings"),
        lambda _e: retention.purge(before=timezone.now() - timedelta(days=365)),
    ),
    Action.SETTINGS: (
        lambda w: w.bob,
        lambda bob: accounts.set_require_2fa(user=bob, required=True),
    ),
}


def _logged_in(user: User) -> Client:
    c = Client()
    c.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    return c


class World:
    def __init__(self) -> None:
        self.alice = User.objects.create_user("alice", password=PASSWORD, role="admin")
        self.bob = User.objects.create_user("bob", password=PASSWORD)
        GatewayState.objects.get_or_create(name="simulator", defaults={"kind": "simulator"})


def test_the_table_names_every_action() -> None:
    assert set(CASES) == set(Action.values), "an action without its row in CASES"


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(Action.values))
def test_each_action_leaves_exactly_one_entry(action: str) -> None:
    w = World()
    setup, act = CASES[action]
    with context.bound(actor=w.alice, via=context.CLI, ip="192.0.2.7"):
        state = setup(w)
        before = set(Entry.objects.values_list("id", flat=True))
        act(state)
    new = list(Entry.objects.exclude(id__in=before))
    assert [e.action for e in new] == [action]
    entry = new[0]
    assert entry.at is not None
    assert entry.actor_name or action == Action.LOGIN_FAILED  # who, but a failed login
    if action == Action.LOGIN_FAILED:
        assert entry.target == "bob"  # the name tried


@pytest.mark.django_db
def test_an_edit_keeps_before_and_after_and_the_address() -> None:
    World()
    contact = directory.create_contact(name="Ana", number="+33611111111")
    with context.bound(via=context.WEB, ip="198.51.100.4"):
        directory.update_contact(contact.id, name="Anna", number="+33611111112")
    e = Entry.objects.get(action=Action.CONTACT_UPDATE)
    assert e.before == {"name": "Ana", "number": "+33611111111"}
    assert e.after == {"name": "Anna", "number": "+33611111112"}
    assert (e.ip, e.via) == ("198.51.100.4", "web")


@pytest.mark.django_db
def test_a_page_records_its_user_and_address() -> None:
    w = World()
    c = Client(REMOTE_ADDR="203.0.113.9")
    c.force_login(w.bob)
    c.post("/directory/contacts/new/", {"name": "Ana", "number": "06 11 11 11 11"})
    e = Entry.objects.get(action=Action.CONTACT_CREATE)
    assert (e.actor_name, e.ip, e.via) == ("bob", "203.0.113.9", "web")


@pytest.mark.django_db
def test_the_message_export_is_recorded() -> None:
    World()
    list(message_exports.csv_chunks(direction="out"))
    list(campaigns.campaign_list())
    assert Entry.objects.filter(action=Action.EXPORT).count() == 1
