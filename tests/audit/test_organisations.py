"""The Journal belongs to each organisation: its administrators read their organisation's
entries only; the platform administrator reads the platform's own acts; an API token reads
its organisation's."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import Organisation, User
from smsdesk.audit import context
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action

pytestmark = pytest.mark.django_db


def test_each_organisation_reads_its_own() -> None:
    a = Organisation.objects.create(name="A", slug="a")
    b = Organisation.objects.create(name="B", slug="b")
    ana = User.objects.create_user("ana", password="correct horse 42", role="admin", organisation=a)
    bea = User.objects.create_user("bea", password="correct horse 42", role="admin", organisation=b)
    root = User.objects.create_user("root", password="correct horse 42", role="platform")
    with context.bound(actor=ana):
        audit.record(Action.SETTINGS, ("x", "1"), label="secret of A")
    with context.bound(actor=bea):
        audit.record(Action.SETTINGS, ("x", "2"), label="secret of B")
    audit.record(Action.SETTINGS, ("x", "3"), actor=root, label="the platform's own")

    def page(user: User) -> str:
        c = Client()
        c.force_login(user)
        answer = c.get("/accounts/journal/")
        assert answer.status_code == 200
        return answer.content.decode()

    seen_a, seen_b, seen_root = page(ana), page(bea), page(root)
    assert "secret of A" in seen_a and "secret of B" not in seen_a
    assert "secret of B" in seen_b and "secret of A" not in seen_b
    assert "the platform&#x27;s own" in seen_root and "secret of" not in seen_root

    _t, raw = accounts.create_token(user=bea)
    entries = Client().get("/api/v1/audit", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["entries"]
    labels = {e["target"] for e in entries}
    assert "secret of B" in labels and "secret of A" not in labels


@pytest.mark.django_db
def test_audit_list_with_org_reads_that_organisation_only() -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from smsdesk.accounts.models import Organisation
    from smsdesk.audit import services as audit_services
    from smsdesk.core import tenancy

    tenancy.sole_organisation()
    a = Organisation.objects.create(name="A", slug="a")
    b = Organisation.objects.create(name="B", slug="b")
    audit_services.record(Action.CONTACT_CREATE, org=a, label="contact A")
    audit_services.record(Action.CONTACT_CREATE, org=b, label="Zorglub")
    out = StringIO()
    call_command("audit", "list", "--org", "a", stdout=out)
    assert "contact A" in out.getvalue() and "Zorglub" not in out.getvalue()
    with pytest.raises(CommandError) as refused:
        call_command("audit", "list", "--org", "nope\x00", stdout=StringIO())
    assert refused.value.returncode == 2
