"""The Journal: the administrators' page (paged, searchable, filtered, CSV), the API
(`GET /api/v1/audit?since=&actor=&action=`, scope audit:read) and `smsdesk audit list`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import User
from smsdesk.audit import context
from smsdesk.audit.models import Action
from smsdesk.directory import services as directory

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(admin_user: User, operator: User) -> None:
    with context.bound(actor=operator, via=context.WEB, ip="192.0.2.1"):
        for i in range(30):
            directory.create_contact(name=f"Contact {i:02d}", number=f"+336111111{i:02d}")
    with context.bound(actor=admin_user, via=context.WEB, ip="192.0.2.2"):
        accounts.set_role(user=operator, role="admin")


def test_the_page_is_for_administrators(filled: None, admin_user: User, client_bob: Client) -> None:
    User.objects.filter(username="bob").update(role="operator")
    assert client_bob.get("/accounts/journal/").status_code == 403
    c = Client()
    c.force_login(admin_user)
    page = c.get("/accounts/journal/?per_page=10")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("<tr>") == 11  # header + 10 rows: paged
    assert "Rôle changé" in body  # the newest first
    assert "after=" in body  # a next page, by keyset
    found = c.get("/accounts/journal/?q=Contact 07").content.decode()
    assert "Contact 07" in found and "Contact 08" not in found
    only = c.get("/accounts/journal/?action=user.role").content.decode()
    assert "Contact 0" not in only and "Rôle changé" in only


def test_the_csv_export(filled: None, admin_user: User) -> None:
    c = Client()
    c.force_login(admin_user)
    answer = c.get("/accounts/journal/export/?action=contact.create")
    assert answer.status_code == 200
    text = b"".join(answer.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    lines = text.strip().split("\r\n")
    assert lines[0].startswith("date;actor;via;action")
    assert len(lines) == 31
    assert "bob;web;contact.create" in lines[1]
    # the export itself is in the log
    from smsdesk.audit.models import Entry

    assert Entry.objects.filter(action=Action.EXPORT, actor_name="alice").count() == 1


def test_the_api(filled: None, admin_user: User, operator: User) -> None:
    _t, raw = accounts.create_token(user=admin_user)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    answer = Client().get("/api/v1/audit?action=contact.create&limit=5", **auth)
    assert answer.status_code == 200
    data = answer.json()
    assert data["count"] == 30
    assert len(data["entries"]) == 5
    assert data["entries"][0]["actor"] == "bob"
    assert data["entries"][0]["ip"] == "192.0.2.1"
    assert data["entries"][0]["after"]["name"] == "Contact 29"
    by_actor = Client().get("/api/v1/audit?actor=alice", **auth).json()
    assert {e["action"] for e in by_actor["entries"]} >= {"user.role"}
    future = Client().get("/api/v1/audit?since=2999-01-01T00:00:00Z", **auth).json()
    assert future["entries"] == []
    # an operator's token has no audit:read
    User.objects.filter(id=operator.id).update(role="operator")
    _t2, raw2 = accounts.create_token(user=User.objects.get(id=operator.id))
    refused = Client().get("/api/v1/audit", HTTP_AUTHORIZATION=f"Bearer {raw2}")
    assert refused.status_code == 403


def test_the_command(filled: None) -> None:
    out = io.StringIO()
    call_command("audit", "list", "--action", "user.role", stdout=out)
    [line] = out.getvalue().strip().splitlines()
    assert "\talice\tweb\tuser.role\tbob\t192.0.2.2" in line
    out = io.StringIO()
    call_command("audit", "list", "--since", "2000-01-01", "--json", "--limit", "3", stdout=out)
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(rows) == 3 and rows[0]["action"] == Action.USER_ROLE
