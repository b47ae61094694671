"""Quotas per organisation (SMS parts per day and per month: a send over one is refused whole,
nothing stored; 100 concurrent API sends never go over by one part) and the platform
administrator's visits of an organisation (recorded, shown to its administrators, read-only)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import Organisation, OrganisationVisit
from smsdesk.core import tenancy
from smsdesk.messaging import errors, quotas, sending
from smsdesk.messaging.models import Campaign, Message
from smsdesk.tenants import organisations

PASSWORD = "correct horse 42"
GATEWAYS = ["line-a=simulator?org=a", "line-b=simulator?org=b"]
LONG = "x" * 200  # two SMS parts in GSM-7


def two_orgs() -> tuple[Organisation, Organisation]:
    tenancy.sole_organisation()
    return (
        Organisation.objects.create(name="A", slug="a"),
        Organisation.objects.create(name="B", slug="b"),
    )


@pytest.mark.django_db
def test_a_send_over_the_daily_quota_is_refused_whole_and_stores_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, b = two_orgs()
    organisations.set_quota(a, per_day=10)
    sending.create_campaign(author=None, org=a, body=LONG, to=["+33611111111", "+33622222222"])
    assert quotas.usage(a)[0].used == 4
    before = (Campaign.objects.for_org(a).count(), Message.objects.for_org(a).count())
    numbers = [f"+3361234560{i}" for i in range(4)]  # 4 × 2 parts: 12 > 10
    with pytest.raises(errors.QuotaExceeded) as refused:
        sending.create_campaign(author=None, org=a, body=LONG, to=numbers)
    assert "6" in refused.value.message and "8" in refused.value.message  # left, asked
    assert (Campaign.objects.for_org(a).count(), Message.objects.for_org(a).count()) == before
    assert quotas.usage(a)[0].used == 4  # nothing counted for the refused send
    # exactly up to the quota passes; one part more does not
    sending.create_campaign(author=None, org=a, body=LONG, to=numbers[:3])
    assert quotas.usage(a)[0].used == 10
    with pytest.raises(errors.QuotaExceeded):
        sending.create_campaign(author=None, org=a, body="1 part", to=[numbers[3]])
    # another organisation's quota is its own
    sending.create_campaign(author=None, org=b, body=LONG, to=numbers)
    assert quotas.usage(b)[0].used == 8


@pytest.mark.django_db
def test_blocked_numbers_and_the_month_quota(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    organisations.set_quota(a, per_month=3)
    from smsdesk.optout import services as optout

    optout.add_number("+33611111111", by=None, org=a)  # a STOP number costs nothing
    sending.create_campaign(author=None, org=a, body="hi", to=["+33611111111", "+33622222222"])
    day, month = quotas.usage(a)
    assert (day.used, month.used, day.limit, month.limit) == (1, 1, 0, 3)
    with pytest.raises(errors.QuotaExceeded, match=r"mois|month"):
        sending.create_campaign(author=None, org=a, body="x" * 400, to=["+33633333333"])  # 3 parts


def test_days_and_months_are_the_organisations_local_ones() -> None:
    org = Organisation(name="A", slug="a", time_zone="Pacific/Auckland")
    # 2026-12-31 12:00 UTC is already 2027-01-01 in Auckland
    day, month, day_ends, month_ends = quotas._periods(
        org, datetime(2026, 12, 31, 12, tzinfo=ZoneInfo("UTC"))
    )
    assert (day, month) == ("d2027-01-01", "m2027-01")
    assert day_ends.isoformat() == "2027-01-02T00:00:00+13:00"
    assert month_ends.isoformat() == "2027-02-01T00:00:00+13:00"


@pytest.mark.django_db(transaction=True)
def test_100_concurrent_api_sends_never_go_over_the_quota(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    organisations.set_quota(a, per_day=37)
    user = accounts.create_user(username="u-a", password=PASSWORD, org=a)
    token = accounts.create_token(user=user)[1]

    def post(i: int) -> tuple[int, str | None]:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post(
            "/api/v1/messages",
            {"to": [f"+336{i:08d}"], "text": "one part"},
            content_type="application/json",
        )
        return response.status_code, response.headers.get("Retry-After")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(100)))
    codes = [code for code, _wait in results]
    assert codes.count(201) == 37 and codes.count(429) == 63, codes
    assert all(wait and int(wait) > 0 for code, wait in results if code == 429)
    assert Message.objects.for_org(a).count() == 37
    assert quotas.usage(a)[0].used == 37


@pytest.mark.django_db
def test_the_api_answers_429_quota_exceeded_and_the_cli_exits_2(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    organisations.set_quota(a, per_day=1)
    user = accounts.create_user(username="u-a", password=PASSWORD, org=a)
    token = accounts.create_token(user=user)[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    answer = client.post(
        "/api/v1/messages",
        {"to": ["+33611111111", "+33622222222"], "text": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 429
    assert answer.json()["code"] == "quota_exceeded" and int(answer["Retry-After"]) > 0
    with pytest.raises(CommandError) as refused:
        call_command(
            "send", "--org", "a", "--to", "+33611111111", "--to", "+33622222222", "--text", "x"
        )
    assert refused.value.returncode == 2
    assert not Message.objects.for_org(a).exists()


@pytest.mark.django_db
def test_org_quota_command_and_hostile_values() -> None:
    tenancy.sole_organisation()
    Organisation.objects.create(name="A", slug="a")
    out = StringIO()
    call_command("org", "quota", "a", "--per-day", "500", "--per-month", "10000", stdout=out)
    assert out.getvalue().splitlines() == [
        "a\tday\t0\t500",
        "a\tmonth\t0\t10000",
        "a\trecipients\t0\t-",
    ]
    for bad in ("-1", "1e9", "abc", "5\x00", str(organisations.MAX_QUOTA + 1)):
        with pytest.raises(CommandError) as refused:
            call_command("org", "quota", "a", "--per-day", bad, stdout=StringIO())
        assert refused.value.returncode == 2
    org = Organisation.objects.get(slug="a")
    assert (org.quota_day, org.quota_month) == (500, 10000)
    call_command("org", "quota", "a", "--per-day", "0", stdout=StringIO())  # 0: no limit
    org.refresh_from_db()
    assert (org.quota_day, org.quota_month) == (0, 10000)


@pytest.mark.django_db
def test_the_home_page_warns_at_80_and_100_percent(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    organisations.set_quota(a, per_day=10)
    admin = accounts.create_user(username="boss", password=PASSWORD, org=a, role="admin")
    client = Client()
    client.force_login(admin)
    assert 'id="quota-day"' not in client.get("/").content.decode()
    sending.create_campaign(author=None, org=a, body=LONG, to=[f"+3361111111{i}" for i in range(4)])
    page = client.get("/").content.decode()
    assert 'id="quota-day"' in page and "alert-warning" in page and "8" in page
    sending.create_campaign(author=None, org=a, body="x", to=["+33699999998", "+33699999999"])
    assert "alert-danger" in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_visit_is_recorded_read_only_and_shown_to_the_administrators(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    provider = accounts.create_user(username="provider", password=PASSWORD, platform=True)
    admin = accounts.create_user(username="boss", password=PASSWORD, org=a, role="admin")
    staff = Client()
    staff.force_login(admin)
    visitor = Client()
    visitor.force_login(provider)
    assert visitor.get("/sms/sent/").status_code == 404  # outside any organisation
    assert visitor.post("/platform/organisations/a/enter/").status_code == 302
    visit = OrganisationVisit.objects.for_org(a).get()
    assert visit.by_name == "provider" and visit.ended_at is None
    inside = visitor.get("/sms/sent/")
    assert inside.status_code == 200 and 'id="visiting"' in inside.content.decode()
    # it looks and changes nothing
    sent = visitor.post("/sms/new/", {"numbers": "+33611111111", "text": "x"})
    assert sent.status_code == 403 and not Message.objects.for_org(a).exists()
    # the organisation's administrators see it, while it lasts and afterwards
    assert 'id="visited"' in staff.get("/").content.decode()
    assert "provider" in staff.get("/accounts/users/").content.decode()
    assert visitor.post("/platform/leave/").status_code == 302
    visit.refresh_from_db()
    assert visit.ended_at is not None
    assert 'id="visited"' not in staff.get("/").content.decode()
    assert visitor.get("/sms/sent/").status_code == 404
    # nobody else enters
    assert staff.post("/platform/organisations/a/enter/").status_code == 404
    # a suspended organisation cannot be entered; an unknown one is not there
    organisations.set_active(a, active=False)
    visitor.post("/platform/organisations/a/enter/")
    assert OrganisationVisit.objects.for_org(a).count() == 1
    assert visitor.post("/platform/organisations/nope/enter/").status_code == 404
