"""Quotas per user (issue 16: "optionally per user"): an administrator gives a user SMS parts
per day and per month; a send of that user over either is refused whole before anything is
queued, saying what remains (web, API 429 quota_exceeded, CLI exit 2), counted with the
organisation's in the same transaction; 100 concurrent API sends of the user never go over
by one part."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.access import NotAllowed
from smsdesk.accounts.models import Organisation, User
from smsdesk.core import tenancy
from smsdesk.core.errors import ServiceError
from smsdesk.messaging import errors, quotas, sending
from smsdesk.messaging.models import Campaign, Message
from smsdesk.tenants import organisations

PASSWORD = "correct horse 42"
GATEWAYS = ["line-a=simulator?org=a", "line-b=simulator?org=b"]
LONG = "x" * 200  # two SMS parts in GSM-7


def setup_org() -> tuple[Organisation, User, User]:
    tenancy.sole_organisation()
    a = Organisation.objects.create(name="A", slug="a")
    Organisation.objects.create(name="B", slug="b")
    admin = accounts.create_user(username="boss", password=PASSWORD, org=a, role="admin")
    clerk = accounts.create_user(username="clerk", password=PASSWORD, org=a)
    return a, admin, clerk


@pytest.mark.django_db
def test_a_send_over_the_users_daily_quota_is_refused_whole(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, admin, clerk = setup_org()
    accounts.set_user_quota(by=admin, user=clerk, per_day=5)
    sending.create_campaign(author=clerk, org=a, body=LONG, to=["+33611111111"])
    assert quotas.user_usage(clerk)[0].used == 2
    before = (Campaign.objects.for_org(a).count(), Message.objects.for_org(a).count())
    with pytest.raises(errors.QuotaExceeded) as refused:
        sending.create_campaign(author=clerk, org=a, body=LONG, to=["+33622222222", "+33633333333"])
    assert "3" in refused.value.message and "4" in refused.value.message  # left, asked
    assert "personnel" in refused.value.message or "own" in refused.value.message
    assert (Campaign.objects.for_org(a).count(), Message.objects.for_org(a).count()) == before
    # nothing counted for the refused send, neither the user's nor the organisation's
    assert quotas.user_usage(clerk)[0].used == 2 and quotas.usage(a)[0].used == 2
    # up to the quota exactly passes, one part more does not
    sending.create_campaign(author=clerk, org=a, body="x", to=["+33622222222", "+33633333333"])
    sending.create_campaign(author=clerk, org=a, body="x", to=["+33644444444"])
    with pytest.raises(errors.QuotaExceeded):
        sending.create_campaign(author=clerk, org=a, body="x", to=["+33655555555"])
    # the others of the organisation, and the platform's sends, are not bound by it
    sending.create_campaign(author=admin, org=a, body=LONG, to=["+33655555555"])
    sending.create_campaign(author=None, org=a, body="x", to=["+33666666666"])
    assert quotas.user_usage(admin)[0].used == 2
    assert quotas.usage(a)[0].used == 5 + 2 + 1


@pytest.mark.django_db
def test_the_month_quota_and_the_organisations_still_applies(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, admin, clerk = setup_org()
    accounts.set_user_quota(by=admin, user=clerk, per_month=3)
    with pytest.raises(errors.QuotaExceeded, match=r"mois|month"):
        sending.create_campaign(author=clerk, org=a, body="x" * 500, to=["+33611111111"])  # 4 parts
    accounts.set_user_quota(by=admin, user=clerk, per_month=0)  # 0: no limit of their own
    organisations.set_quota(a, per_day=1)
    with pytest.raises(errors.QuotaExceeded, match=r"journalier|daily"):
        sending.create_campaign(author=clerk, org=a, body=LONG, to=["+33611111111"])
    assert quotas.user_usage(clerk)[1].used == 0


@pytest.mark.django_db
def test_set_by_an_administrator_of_the_organisation_only_with_clear_errors(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    _a, admin, clerk = setup_org()
    with pytest.raises(NotAllowed):
        accounts.set_user_quota(by=clerk, user=admin, per_day=1)
    other = accounts.create_user(
        username="other", password=PASSWORD, org=Organisation.objects.get(slug="b"), role="admin"
    )
    with pytest.raises(NotAllowed):
        accounts.set_user_quota(by=other, user=clerk, per_day=1)
    with pytest.raises(ServiceError) as refused:
        accounts.set_user_quota(by=admin, user=clerk, per_day="-1", per_month="abc")
    assert [e.field for e in refused.value.errors] == ["quota_day", "quota_month"]  # type: ignore[attr-defined]
    clerk.refresh_from_db()
    assert (clerk.quota_day, clerk.quota_month) == (0, 0)


@pytest.mark.django_db
def test_the_users_pages_show_and_set_it(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, admin, clerk = setup_org()
    client = Client()
    client.force_login(admin)
    answer = client.post(
        f"/accounts/users/{clerk.id}/quota/", {"quota_day": "4", "quota_month": "100"}
    )
    assert answer.status_code == 302
    clerk.refresh_from_db()
    assert (clerk.quota_day, clerk.quota_month) == (4, 100)
    page = client.get(f"/accounts/users/{clerk.id}/").content.decode()
    assert 'id="user-quota"' in page and 'value="4"' in page and 'value="100"' in page
    # the clerk sends from the web: over their quota, refused whole with what remains
    staff = Client()
    staff.force_login(clerk)
    staff.post("/sms/new/", {"text": LONG, "numbers": ["+33611111111"]})
    refused = staff.post("/sms/new/", {"text": LONG, "numbers": ["+33622222222", "+33633333333"]})
    assert refused.status_code == 400
    assert "2" in refused.content.decode() and Message.objects.for_org(a).count() == 1
    listing = client.get("/accounts/users/").content.decode()
    row = listing[listing.index('data-username="clerk"') :]
    row = row[: row.index("</tr>")]
    assert "2 / 4" in row and "2 / 100" in row
    # a wrong value: said, nothing changed
    client.post(f"/accounts/users/{clerk.id}/quota/", {"quota_day": "x", "quota_month": "100"})
    clerk.refresh_from_db()
    assert clerk.quota_day == 4
    # an operator cannot set it
    assert staff.post(f"/accounts/users/{clerk.id}/quota/", {"quota_day": "0"}).status_code == 403


@pytest.mark.django_db
def test_user_set_command_and_send_as_exit_2(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _admin, clerk = setup_org()
    out = StringIO()
    call_command("user", "set", "clerk", "--quota-day", "1", "--quota-month", "50", stdout=out)
    assert "1" in out.getvalue() and "50" in out.getvalue()
    clerk.refresh_from_db()
    assert (clerk.quota_day, clerk.quota_month) == (1, 50)
    with pytest.raises(CommandError) as refused:
        call_command("user", "set", "clerk", "--quota-day", "1e9", stdout=StringIO())
    assert "0" in str(refused.value)
    with pytest.raises(CommandError) as refused:
        call_command("send", "--org", "a", "--as", "clerk", "--to", "+33611111111", "--text", LONG)
    assert refused.value.returncode == 2
    assert not Message.objects.for_org(a).exists()
    call_command(
        "send",
        "--org",
        "a",
        "--as",
        "clerk",
        "--to",
        "+33611111111",
        "--text",
        "x",
        stdout=StringIO(),
    )
    assert Message.objects.for_org(a).get().author_id == clerk.id
    with pytest.raises(CommandError, match="nobody"):
        call_command("send", "--org", "b", "--as", "nobody", "--to", "+33611111111", "--text", "x")


@pytest.mark.django_db
def test_the_api_answers_429_quota_exceeded(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, admin, clerk = setup_org()
    accounts.set_user_quota(by=admin, user=clerk, per_day=1)
    token = accounts.create_token(user=clerk)[1]
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/messages",
        {"to": ["+33611111111", "+33622222222"], "text": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 429
    assert answer.json()["code"] == "quota_exceeded" and int(answer["Retry-After"]) > 0
    assert not Message.objects.for_org(a).exists()


@pytest.mark.django_db(transaction=True)
def test_100_concurrent_api_sends_never_go_over_the_users_quota(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, admin, clerk = setup_org()
    accounts.set_user_quota(by=admin, user=clerk, per_day=37)
    # several tokens of the user: nothing of one token's row puts the sends in a row
    tokens = [accounts.create_token(user=clerk)[1] for _i in range(8)]

    def post(i: int) -> int:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[i % 8]}")
        return client.post(
            "/api/v1/messages",
            {"to": [f"+336{i:08d}"], "text": "one part"},
            content_type="application/json",
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(post, range(100)))
    assert codes.count(201) == 37 and codes.count(429) == 63, codes
    assert Message.objects.for_org(a).count() == 37
    assert quotas.user_usage(clerk)[0].used == 37 and quotas.usage(a)[0].used == 37


@pytest.mark.django_db(transaction=True)
def test_a_send_waits_for_the_users_send_in_progress(settings) -> None:  # type: ignore[no-untyped-def]
    """The race the lock closes, made certain: a second send of the user checks their quota
    while the first, which took the last part, is not committed yet; it must wait for it and
    be refused (without the user's row locked, both would pass: 2 parts of a quota of 1)."""
    import threading
    import time

    from django.db import connection, transaction

    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, admin, clerk = setup_org()
    accounts.set_user_quota(by=admin, user=clerk, per_day=1)
    started, release = threading.Event(), threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                quotas.take(a, 1, user=User.objects.get(pk=clerk.pk))
                started.set()
                release.wait(10)
        finally:
            connection.close()

    def second() -> str:
        started.wait(10)
        try:
            with transaction.atomic():
                quotas.take(a, 1, user=User.objects.get(pk=clerk.pk))
            return "passed"
        except errors.QuotaExceeded:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(first)
        two = pool.submit(second)
        started.wait(10)
        time.sleep(0.5)  # the second reaches its check meanwhile (or waits at the lock)
        release.set()
        one.result()
        assert two.result() == "refused"
    assert quotas.user_usage(clerk)[0].used == 1
