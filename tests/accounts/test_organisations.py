"""Organisations from the command line (`smsdesk org`, `createuser --org/--read-only/
--platform-admin`), the read-only role, the platform administrator kept out of customers' data,
a suspended organisation's users and tokens, and lines given to organisations."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from smsdesk.accounts import access
from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import LineAssignment, Organisation, User
from smsdesk.core import tenancy
from smsdesk.messaging import lines, sending
from smsdesk.messaging.models import Message

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse 42"
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_org_create_prints_the_slug_last_and_lists() -> None:
    tenancy.sole_organisation()
    out, _err = run("org", "create", "Cabinet Martin", "--time-zone", "Europe/Paris")
    assert out.strip().splitlines()[-1] == "cabinet-martin"
    out, _err = run("org", "create", "Garage", "--slug", "garage-dupont", "--language", "fr")
    assert out.strip() == "garage-dupont"
    listed, _err = run("org", "list")
    assert "cabinet-martin\tactive" in listed and "garage-dupont\tactive" in listed


@pytest.mark.parametrize(
    "args",
    [
        ("org", "create", ""),
        ("org", "create", "X", "--slug", "../etc"),
        ("org", "create", "X", "--slug", "UPPER"),
        ("org", "create", "X", "--slug", "a" * 51),
        ("org", "create", "X\x1b[2J"),
        ("org", "create", "X", "--time-zone", "Mars/Olympus"),
        ("org", "create", "X", "--language", "xx"),
        ("org", "suspend", "nope"),
        ("org", "assign-line", "default", "no-such-line"),
        ("org", "assign-line", "nope", "simulator"),
    ],
)
def test_hostile_arguments_are_one_line_errors_with_exit_2(args) -> None:  # type: ignore[no-untyped-def]
    tenancy.sole_organisation()
    before = list(Organisation.objects.values_list("slug", flat=True))
    with pytest.raises(CommandError) as refused:
        run(*args)
    assert refused.value.returncode == 2
    assert "\n" not in str(refused.value) and str(refused.value)
    assert list(Organisation.objects.values_list("slug", flat=True)) == before


def test_the_same_slug_twice_is_refused() -> None:
    run("org", "create", "A", "--slug", "a")
    with pytest.raises(CommandError, match="pris"):
        run("org", "create", "A again", "--slug", "a")


def test_the_command_line_exits_2_with_its_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smsdesk.cli", "org", "create", "X", "--slug", "Bad Slug"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2
    assert "short name" in done.stderr.lower() or "nom court" in done.stderr.lower()


def test_assign_line_gives_a_line_to_an_organisation(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["one=simulator", "two=simulator"]
    default = tenancy.sole_organisation()
    run("org", "create", "B", "--slug", "b")
    assert lines.lines_of(default) == ["one", "two"]  # unassigned: the first organisation's
    run("org", "assign-line", "b", "two")
    b = Organisation.objects.get(slug="b")
    assert LineAssignment.objects.get(line="two").organisation == b
    assert lines.lines_of(default) == ["one"] and lines.lines_of(b) == ["two"]
    [m] = sending.create_campaign(
        author=None, org=b, body="x", to=["+33612345678"]
    ).created_messages
    assert m.gateway_id == "two"
    with pytest.raises(sending.errors.UnknownGateway):  # another's line is not there for b
        sending.create_campaign(author=None, org=b, body="x", to=["+33612345678"], gateway="one")


def test_a_line_named_with_org_in_the_setting_belongs_to_it(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["one=simulator", "two=simulator?org=b"]
    tenancy.sole_organisation()
    b = Organisation.objects.create(name="B", slug="b")
    assert lines.lines_of(b) == ["two"]
    assert lines.organisation_of_line("two") == b


def test_an_organisation_without_a_line_cannot_send(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["one=simulator"]
    tenancy.sole_organisation()
    b = Organisation.objects.create(name="B", slug="b")
    with pytest.raises(sending.errors.NoLine):
        sending.create_campaign(author=None, org=b, body="x", to=["+33612345678"])
    assert not Message.objects.for_org(b).exists()


def test_createuser_in_an_organisation_read_only_or_platform() -> None:
    tenancy.sole_organisation()
    run("org", "create", "B", "--slug", "b")
    with pytest.raises(CommandError, match="--org") as refused:
        run("createuser", "nobody")
    assert refused.value.returncode == 2
    run("createuser", "bea", "--org", "b", "--read-only")
    bea = User.objects.get(username="bea")
    assert bea.organisation.slug == "b" and bea.is_read_only
    run("createuser", "boss", "--org", "b", "--admin")
    assert User.objects.get(username="boss").is_admin
    run("createuser", "provider", "--platform-admin")
    provider = User.objects.get(username="provider")
    assert provider.is_platform and provider.organisation is None and not provider.is_admin
    with pytest.raises(CommandError) as refused:
        run("createuser", "x", "--platform-admin", "--org", "b")
    assert refused.value.returncode == 2


def test_the_database_refuses_a_platform_admin_in_an_organisation() -> None:
    from django.db import IntegrityError, transaction

    org = tenancy.sole_organisation()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="x", role=User.Role.PLATFORM, organisation=org)


def test_a_read_only_account_sees_and_changes_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    org = tenancy.sole_organisation()
    reader = accounts.create_user(
        username="reader", password=PASSWORD, role=User.Role.READ_ONLY, org=org
    )
    sending.create_campaign(author=None, org=org, body="x", to=["+33612345678"])
    client = Client()
    client.force_login(reader)
    for url in ("/", "/sms/sent/", "/directory/contacts/", "/stop/", "/sms/campaigns/"):
        assert client.get(url).status_code == 200, url
    before = Message.objects.for_org(org).count()
    response = client.post("/sms/new/", {"text": "hello", "numbers": ["+33612345679"]})
    assert response.status_code == 403
    assert client.post("/directory/groups/new/", {"name": "G"}).status_code == 403
    assert Message.objects.for_org(org).count() == before
    with pytest.raises(access.NotAllowed):
        sending.create_campaign(author=reader, org=org, body="x", to=["+33612345678"])
    _token, raw = accounts.create_token(user=reader)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/messages").status_code == 200
    refused = api.post(
        "/api/v1/messages", {"to": ["+33612345678"], "text": "x"}, content_type="application/json"
    )
    # its token has the read scopes of its role only
    assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
    assert Message.objects.for_org(org).count() == before


def test_the_platform_administrator_sees_no_customer_data() -> None:
    tenancy.sole_organisation()
    provider = accounts.create_user(username="provider", password=PASSWORD, platform=True)
    client = Client()
    client.force_login(provider)
    for url in ("/sms/sent/", "/directory/contacts/", "/stop/", "/calls/", "/gateways/"):
        assert client.get(url).status_code == 404, url
    assert client.get("/")["Location"] == "/platform/"  # where a login lands
    page = client.get("/platform/")
    assert page.status_code == 200 and "default" in page.content.decode()
    with pytest.raises(accounts.AccountError):
        accounts.create_token(user=provider)


def test_a_suspended_organisations_users_cannot_log_in_and_tokens_answer_401() -> None:
    org = tenancy.sole_organisation()
    user = accounts.create_user(username="ann", password=PASSWORD, org=org)
    _token, raw = accounts.create_token(user=user)
    logged = Client()
    logged.force_login(user)
    run("org", "suspend", org.slug)
    response = Client().post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    assert response.status_code == 200 and "suspendu" in response.content.decode()
    assert logged.get("/").status_code == 302  # the open session is ended
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/messages").status_code == 401
    run("org", "resume", org.slug)
    assert api.get("/api/v1/messages").status_code == 200
    response = Client().post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_suspended_organisations_messages_wait_and_go_out_when_resumed(settings) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.gateways.simulator import SimulatorGateway
    from smsdesk.messaging import lines as lines_module
    from tests.worker.helpers import drain, runner_for

    settings.SMSDESK_GATEWAYS = ["line-a=simulator?org=a", "line-b=simulator?org=b"]
    tenancy.sole_organisation()
    a = Organisation.objects.create(name="A", slug="a")
    b = Organisation.objects.create(name="B", slug="b")
    [held] = sending.create_campaign(
        author=None, org=a, body="x", to=["+33612345678"]
    ).created_messages
    [free] = sending.create_campaign(
        author=None, org=b, body="x", to=["+33612345678"]
    ).created_messages
    run("org", "suspend", "a")
    line_a, line_b = (
        SimulatorGateway("line-a", delivery_delay=0),
        SimulatorGateway("line-b", delivery_delay=0),
    )
    drain(runner_for(line_a))
    drain(runner_for(line_b))
    held.refresh_from_db()
    free.refresh_from_db()
    assert held.status == Message.Status.QUEUED and line_a.handed == []  # held, not failed
    assert free.status == Message.Status.DELIVERED
    run("org", "resume", "a")
    lines_module.forget_held()
    drain(runner_for(line_a))
    held.refresh_from_db()
    assert held.status == Message.Status.DELIVERED


def test_the_platform_pages_create_assign_and_suspend(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = ["one=simulator", "two=simulator"]
    tenancy.sole_organisation()
    provider = accounts.create_user(username="provider", password=PASSWORD, platform=True)
    client = Client()
    client.force_login(provider)
    assert (
        client.post("/platform/organisations/new/", {"name": "Cabinet Martin"}).status_code == 302
    )
    org = Organisation.objects.get(slug="cabinet-martin")
    client.post("/platform/organisations/cabinet-martin/lines/", {"line": "two"})
    assert lines.lines_of(org) == ["two"]
    client.post("/platform/organisations/cabinet-martin/admin/", {"username": "dr-martin"})
    admin = User.objects.get(username="dr-martin")
    assert admin.organisation == org and admin.is_admin
    page = client.get("/platform/").content.decode()
    assert "cabinet-martin" in page and "two" in page
    client.post("/platform/organisations/cabinet-martin/suspend/")
    org.refresh_from_db()
    assert not org.is_active
    client.post("/platform/organisations/cabinet-martin/resume/")
    org.refresh_from_db()
    assert org.is_active
    # hostile input: refused with a message, nothing stored
    client.post("/platform/organisations/new/", {"name": "X", "slug": "../etc"})
    client.post("/platform/organisations/cabinet-martin/lines/", {"line": "nope\x00"})
    assert Organisation.objects.count() == 2 and lines.lines_of(org) == ["two"]
    assert client.post("/platform/organisations/nope/suspend/").status_code == 404
    # an organisation's administrator never reaches them
    other = Client()
    other.force_login(admin)
    assert other.get("/platform/").status_code == 404
    assert other.post("/platform/organisations/new/", {"name": "Y"}).status_code == 404
