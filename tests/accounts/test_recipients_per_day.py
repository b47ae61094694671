"""Recipients per day (issue 19): per organisation (set by the platform administrator, every
send of the organisation) and per API token (set by its owner, the sends made with it). A send
over either is refused whole (429 `recipient_limit_exceeded`, Retry-After to the next local
midnight, the RateLimit-* headers of that limit), nothing stored and nothing counted; 100
concurrent API sends never go over by one recipient."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import ApiToken, Organisation
from smsdesk.core import tenancy
from smsdesk.messaging import errors, quotas, sending
from smsdesk.messaging.models import Campaign, Message
from smsdesk.optout import services as optout
from smsdesk.tenants import organisations

PASSWORD = "correct horse 42"
GATEWAYS = ["line-a=simulator?org=a", "line-b=simulator?org=b"]


def two_orgs() -> tuple[Organisation, Organisation]:
    tenancy.sole_organisation()
    return (
        Organisation.objects.create(name="A", slug="a", time_zone="Europe/Paris"),
        Organisation.objects.create(name="B", slug="b"),
    )


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+336{i:08d}" for i in range(start, start + n)]


def stored(org: Organisation) -> tuple[int, int]:
    return Campaign.objects.for_org(org).count(), Message.objects.for_org(org).count()


def post(token: str, to: list[str]):  # type: ignore[no-untyped-def]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/messages", {"to": to, "text": "hi"}, content_type="application/json"
    )


@pytest.mark.django_db
def test_the_organisations_limit_refuses_a_send_whole_and_stores_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, b = two_orgs()
    organisations.set_quota(a, recipients_per_day=5)
    optout.add_number("+33699999999", by=None, org=a)  # a STOP number reaches nobody
    sending.create_campaign(author=None, org=a, body="x" * 400, to=[*numbers(2), "+33699999999"])
    assert quotas.recipients_usage(a).used == 2  # recipients, not SMS parts
    before = stored(a)
    with pytest.raises(errors.RecipientLimitExceeded) as refused:
        sending.create_campaign(author=None, org=a, body="x", to=numbers(4, 10))
    assert "3" in refused.value.message and "4" in refused.value.message  # left, asked
    assert refused.value.http_status == 429 and refused.value.retry_after
    assert stored(a) == before and quotas.recipients_usage(a).used == 2
    # exactly up to the limit passes, one more does not
    sending.create_campaign(author=None, org=a, body="x", to=numbers(3, 10))
    assert quotas.recipients_usage(a).used == 5
    with pytest.raises(errors.RecipientLimitExceeded):
        sending.create_campaign(author=None, org=a, body="x", to=numbers(1, 20))
    # the next local day starts again; another organisation has its own
    tomorrow = timezone.now() + timedelta(days=1)
    assert quotas.recipients_usage(a, now=tomorrow).used == 0
    sending.create_campaign(author=None, org=b, body="x", to=numbers(10))
    assert quotas.recipients_usage(b).used == 0  # counted only while a limit is set
    organisations.set_quota(b, recipients_per_day=100)
    sending.create_campaign(author=None, org=b, body="x", to=numbers(10))
    assert quotas.recipients_usage(b).used == 10
    # the command line is refused too (exit 2, as over a quota)
    with pytest.raises(CommandError) as cli:
        call_command("send", "--org", "a", "--to", "+33612345678", "--text", "x")
    assert cli.value.returncode == 2
    assert stored(a) == (2, 6)


@pytest.mark.django_db
def test_a_tokens_limit_answers_429_with_retry_after_to_local_midnight(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    user = accounts.create_user(username="u-a", password=PASSWORD, org=a)
    organisations.set_quota(a, recipients_per_day=9)  # both limits: the token's is lower
    limited = accounts.create_token(user=user, recipients_per_day=3)[1]
    free = accounts.create_token(user=user)[1]
    assert post(limited, numbers(2)).status_code == 201
    before = stored(a)
    answer = post(limited, numbers(2, 10))
    assert answer.status_code == 429, answer.content
    body = answer.json()
    assert body["code"] == "recipient_limit_exceeded" and body["field"] == "to"
    assert (answer["RateLimit-Limit"], answer["RateLimit-Remaining"]) == ("3", "1")
    midnight = quotas._periods(a, timezone.now())[2]
    left = (midnight - timezone.now()).total_seconds()
    assert abs(int(answer["Retry-After"]) - left) < 120
    assert answer["RateLimit-Reset"] == answer["Retry-After"]
    assert stored(a) == before  # nothing stored, nothing counted
    token = ApiToken.objects.for_org(a).get(recipients_day=3)
    assert token.recipients_used == 2 and token.recipients_today() == 2
    assert post(limited, numbers(1, 10)).status_code == 201  # exactly the limit
    assert post(limited, numbers(1, 20)).status_code == 429
    # another token of the same user has no limit of its own; the organisation's applies to
    # both: its count includes the token's sends
    assert post(free, numbers(5, 30)).status_code == 201
    over = post(free, numbers(2, 40))
    assert over.status_code == 429 and over["RateLimit-Limit"] == "9"
    assert quotas.recipients_usage(a).used == 8
    # a new local day: the token may send again (its row's day is yesterday's)
    token.refresh_from_db()
    quotas.take(a, 1, recipients=3, token=token, now=midnight + timedelta(minutes=1))
    token.refresh_from_db()
    assert (token.recipients_used, token.recipients_date) == (3, (midnight.date()).isoformat())


@pytest.mark.django_db
def test_a_lowered_limit_counts_at_the_next_request(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    user = accounts.create_user(username="u-a", password=PASSWORD, org=a)
    token, raw = accounts.create_token(user=user, recipients_per_day=10)
    assert post(raw, numbers(2)).status_code == 201
    ApiToken.objects.for_org(a).filter(id=token.id).update(recipients_day=2)
    assert post(raw, numbers(1, 10)).status_code == 429  # not the instance kept per process


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["token", "organisation"])
def test_100_concurrent_api_sends_never_go_over_by_one(settings, where) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    user = accounts.create_user(username="u-a", password=PASSWORD, org=a)
    if where == "organisation":
        organisations.set_quota(a, recipients_per_day=37)
        raw = accounts.create_token(user=user)[1]
    else:
        raw = accounts.create_token(user=user, recipients_per_day=37)[1]

    def send(i: int) -> int:
        return post(raw, numbers(1, i)).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(send, range(100)))
    assert codes.count(201) == 37 and codes.count(429) == 63, codes
    assert Message.objects.for_org(a).count() == 37
    if where == "organisation":
        assert quotas.recipients_usage(a).used == 37
    else:
        assert ApiToken.objects.for_org(a).get().recipients_used == 37


@pytest.mark.django_db
def test_the_commands_and_pages_set_the_limits_and_refuse_hostile_values(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    a, _b = two_orgs()
    out = StringIO()
    call_command("org", "quota", "a", "--recipients-per-day", "500", stdout=out)
    assert out.getvalue().splitlines()[-1] == "a\trecipients\t0\t500"
    for bad in ("-1", "1e9", "abc", "5\x00", str(organisations.MAX_QUOTA + 1)):
        with pytest.raises(CommandError) as refused:
            call_command("org", "quota", "a", "--recipients-per-day", bad, stdout=StringIO())
        assert refused.value.returncode == 2
    a.refresh_from_db()
    assert a.recipients_day == 500
    # the platform page
    provider = accounts.create_user(username="provider", password=PASSWORD, platform=True)
    client = Client()
    client.force_login(provider)
    assert 'name="recipients_per_day"' in client.get("/platform/").content.decode()
    client.post(
        "/platform/organisations/a/quota/",
        {"per_day": "0", "per_month": "0", "recipients_per_day": "1200"},
    )
    a.refresh_from_db()
    assert a.recipients_day == 1200
    client.post(
        "/platform/organisations/a/quota/",
        {"per_day": "0", "per_month": "0", "recipients_per_day": "-3"},
    )
    a.refresh_from_db()
    assert a.recipients_day == 1200
    # createtoken
    accounts.create_user(username="u-a", password=PASSWORD, org=a)
    err = StringIO()
    call_command("createtoken", "u-a", "--recipients-per-day", "250", stdout=out, stderr=err)
    assert ApiToken.objects.for_org(a).get().recipients_day == 250 and "250" in err.getvalue()
    for bad in ("-1", "x", "1.5", "10\x00"):
        with pytest.raises(CommandError):
            call_command("createtoken", "u-a", "--recipients-per-day", bad, stderr=StringIO())
    assert ApiToken.objects.for_org(a).count() == 1
    # the token page (Mon compte)
    owner = Client()
    owner.force_login(accounts.create_user(username="u-b", password=PASSWORD, org=a))
    page = owner.get("/accounts/me/")
    assert 'name="recipients_per_day"' in page.content.decode()
    owner.post("/accounts/me/tokens/", {"name": "crm", "recipients_per_day": "40"})
    token = ApiToken.objects.for_org(a).get(name="crm")
    assert token.recipients_day == 40
    assert "0 sur 40" in owner.get("/accounts/me/").content.decode()  # French by default
    owner.post("/accounts/me/tokens/", {"name": "bad", "recipients_per_day": "many"})
    assert not ApiToken.objects.for_org(a).filter(name="bad").exists()


def test_the_limits_day_is_the_organisations_local_one() -> None:
    org = Organisation(name="A", slug="a", time_zone="Pacific/Auckland")
    day, _m, day_ends, _e = quotas._periods(org, datetime(2026, 12, 31, 12, tzinfo=ZoneInfo("UTC")))
    assert quotas.RECIPIENTS + day[1:] == "r2027-01-01"
    assert day_ends.isoformat() == "2027-01-02T00:00:00+13:00"
