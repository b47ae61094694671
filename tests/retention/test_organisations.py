"""Data retention per organisation (issue 17): each organisation's own months and mode.

A deletes at 6 months, B masks at 12, C follows the platform's SMSDESK_RETENTION_MONTHS (24)
and deletes; each keeps exactly what is younger, what waits to be sent, what is unread, its
STOP list, its contacts and its counters, and nothing of another organisation moves. A masked
text is found no more by the search (web lists and API), neither through its own words nor
through its campaign's; the dry run changes nothing; the settings are refused whole on a bad
value (command: exit 2, one line; platform page: an error, nothing changed) and recorded."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone, translation

from smsdesk.accounts import services as accounts
from smsdesk.accounts.models import Organisation, User
from smsdesk.audit.models import Action, Entry
from smsdesk.calls.models import Call
from smsdesk.core import tenancy
from smsdesk.directory import services as directory
from smsdesk.directory.models import Contact
from smsdesk.messaging import actions, receiving, sending, stats
from smsdesk.messaging.models import Conversation, Message
from smsdesk.optout.models import OptOut
from smsdesk.retention import services as retention
from smsdesk.tenants import organisations

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse 42"
GATEWAYS = ["line-a=simulator?org=a", "line-b=simulator?org=b", "line-c=simulator?org=c"]
AGES = (2, 9, 15, 30)  # months
MONTH = timedelta(days=30)


def _seed(org: Organisation, line: str, n: int) -> dict:  # type: ignore[type-arg]
    """Per age: one SMS received and read, one sent then cancelled (a campaign's), one call,
    one audit entry; old: one queued and one unread (kept whatever the age), a STOP."""
    now = timezone.now()
    admin = User.objects.create_user(
        f"admin-{org.slug}", password=PASSWORD, role=User.Role.ADMIN, organisation=org
    )
    directory.create_contact(name="Ana", number=f"+3365{n}000030", org=org)
    ids: dict[int, tuple[int, int]] = {}
    for age in AGES:
        peer = f"+3365{n}0000{age:02d}"
        got = receiving.receive_inbound(
            gateway=line, sender=peer, text=f"Quokka{age} venez", received_at=now
        )
        assert got is not None
        actions.mark_read([got.id], org=org)
        sent = sending.create_campaign(
            author=admin, org=org, body=f"Wombat{age} soldes", to=[peer], gateway=line
        ).created_messages[0]
        actions.cancel_message(sent.id, by=admin, org=org)
        at = now - age * MONTH
        Message.objects.for_org(org).filter(id__in=[got.id, sent.id]).update(created_at=at)
        Conversation.objects.for_org(org).filter(peer=peer).update(last_at=at)
        Call.objects.create(caller=peer, gateway=line, at=at, organisation=org)
        Entry.objects.create(
            at=at, action=Action.SETTINGS, target=f"{org.slug}{age}", organisation_id=org.pk
        )
        ids[age] = (got.id, sent.id)
    old = now - 40 * MONTH
    queued = sending.create_campaign(
        author=admin, org=org, body="Koala attend", to=[f"+3365{n}000098"], gateway=line
    ).created_messages[0]
    unread = receiving.receive_inbound(
        gateway=line, sender=f"+3365{n}000099", text="Lemur pas lu", received_at=old
    )
    assert unread is not None
    stop = receiving.receive_inbound(
        gateway=line, sender=f"+3365{n}000097", text="STOP", received_at=old
    )
    assert stop is not None
    kept = [queued.id, unread.id, stop.id]
    Message.objects.for_org(org).filter(id__in=kept).update(created_at=old)
    return {"org": org, "admin": admin, "ids": ids, "kept": kept, "n": n}


@pytest.fixture
def world(settings) -> dict:  # type: ignore[no-untyped-def, type-arg]
    settings.SMSDESK_GATEWAYS = GATEWAYS
    settings.SMSDESK_RETENTION_MONTHS = 24
    tenancy.sole_organisation()
    orgs = {
        slug: Organisation.objects.create(name=slug.upper(), slug=slug) for slug in ("a", "b", "c")
    }
    organisations.set_retention(orgs["a"], months="6", mode="delete")
    organisations.set_retention(orgs["b"], months="12", mode="mask")
    w = {slug: _seed(org, f"line-{slug}", i + 1) for i, (slug, org) in enumerate(orgs.items())}
    stats.fold()
    return w


def _state(side: dict) -> dict:  # type: ignore[type-arg]
    """What an organisation holds, per age: (text, number) of its two messages, or None
    when gone; its calls' numbers; its audit entries' targets."""
    org = side["org"]
    rows = {m.id: (m.body, m.peer) for m in Message.objects.for_org(org)}
    return {
        "messages": {age: [rows.get(i) for i in pair] for age, pair in side["ids"].items()},
        "kept": [rows.get(i) for i in side["kept"]],
        "calls": sorted(Call.objects.for_org(org).values_list("caller", flat=True)),
        "audit": sorted(
            Entry.objects.filter(organisation_id=org.pk, target__regex=r"^[abc]\d+$").values_list(
                "target", flat=True
            )
        ),
        "stop": sorted(OptOut.objects.for_org(org).values_list("number", flat=True)),
        "contacts": sorted(Contact.objects.for_org(org).values_list("number", flat=True)),
    }


def _run_worker() -> None:
    for _ in range(10):  # one batch per heartbeat, until nothing is left
        if not retention.step(batch=2).total:
            return
    raise AssertionError("the retention never ended")


def test_each_organisation_by_its_own_months_and_mode(world: dict) -> None:  # type: ignore[type-arg]
    before = {slug: _state(side) for slug, side in world.items()}
    counters = stats.totals()
    _run_worker()
    after = {slug: _state(side) for slug, side in world.items()}
    for slug, months, masked in (("a", 6, False), ("b", 12, True), ("c", 24, False)):
        n = world[slug]["n"]
        for age in AGES:
            was = before[slug]["messages"][age]
            now = after[slug]["messages"][age]
            if age < months:
                assert now == was, (slug, age)
            elif masked:
                number = f"+3365{n}0000{age:02d}"
                assert now == [("", "+33•••••••" + number[-2:])] * 2, (slug, age)
            else:
                assert now == [None, None], (slug, age)
        young = [f"+3365{n}0000{a:02d}" for a in AGES if a < months]
        old = [f"+3365{n}0000{a:02d}" for a in AGES if a >= months]
        expected_calls = young + ([retention.mask_number(p) for p in old] if masked else [])
        assert after[slug]["calls"] == sorted(expected_calls), slug
        assert after[slug]["audit"] == sorted(f"{slug}{a}" for a in AGES if a < months), slug
        # kept whatever the age: what waits, what is unread, the STOP SMS; the STOP list,
        # the contacts
        assert after[slug]["kept"] == before[slug]["kept"], slug
        assert after[slug]["stop"] == before[slug]["stop"] == [f"+3365{n}000097"]
        assert after[slug]["contacts"] == before[slug]["contacts"] == [f"+3365{n}000030"]
    # B's conversations: the last text blanked where old and read, the number kept
    b = world["b"]["org"]
    convs = dict(Conversation.objects.for_org(b).values_list("peer", "last_body"))
    assert convs["+33652000015"] == convs["+33652000030"] == ""
    assert convs["+33652000009"] != "" and "Lemur" in convs["+33652000099"]  # unread
    stats.fold()
    assert stats.totals() == counters  # the figures stay


def test_masked_texts_are_found_no_more(world: dict) -> None:  # type: ignore[type-arg]
    b = world["b"]
    client = Client()
    client.force_login(b["admin"])
    _token, raw = accounts.create_token(user=b["admin"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def found(word: str) -> tuple[bool, int]:
        """Whether the web list shows the text (the search is echoed: the text's second
        word is looked for), how many messages the API lists."""
        page, text = (
            ("sent", f"{word} soldes")
            if word.startswith("Wombat")
            else (
                "received",
                f"{word} venez",
            )
        )
        html = client.get(f"/sms/{page}/", {"q": word}).content.decode()
        listed = api.get("/api/v1/messages", {"q": word})
        assert listed.status_code == 200
        return text in html, len(listed.json()["messages"])

    for word in ("Quokka30", "Wombat30", "Quokka15", "Wombat15", "Quokka9", "Wombat9"):
        assert found(word) == (True, 1), word
    _run_worker()
    for word in ("Quokka30", "Wombat30", "Quokka15", "Wombat15"):  # masked: its own words,
        assert found(word) == (False, 0), word  # its campaign's
    for word in ("Quokka9", "Wombat9"):  # younger: still there
        assert found(word) == (True, 1), word
    # nor by its number (the conversation keeps it; the message's is masked)
    html = client.get("/sms/received/", {"q": "+33652000030"}).content.decode()
    assert "Quokka30" not in html


def test_the_command_for_one_organisation_and_its_dry_run(world: dict) -> None:  # type: ignore[type-arg]
    states = {slug: _state(side) for slug, side in world.items()}
    day = (timezone.now() - 8 * MONTH).date().isoformat()
    out = io.StringIO()
    with translation.override("en"):
        call_command("purge", "--org", "b", "--before", day, "--dry-run", stdout=out)
    # B masks: its 9, 15 and 30 months old, 2 messages each, 3 calls; 3 audit entries
    assert out.getvalue().splitlines() == [
        f"Would delete: 0 messages, 0 calls, 3 audit entries older than {day}",
        "Would mask: 6 messages, 3 calls, the last text of 3 conversations",
    ]
    assert {slug: _state(side) for slug, side in world.items()} == states  # nothing moved
    call_command("purge", "--org", "b", "--before", day, stdout=io.StringIO())
    after = {slug: _state(side) for slug, side in world.items()}
    assert after["a"] == states["a"] and after["c"] == states["c"]  # the others untouched
    assert after["b"]["messages"][9][0] == ("", "+33•••••••09")
    assert (
        Entry.objects.filter(action=Action.PURGE, organisation_id=world["b"]["org"].pk).count() == 1
    )
    # --mask on A (which deletes): masked instead
    out = io.StringIO()
    call_command("purge", "--org", "a", "--before", day, "--mask", stdout=out)
    assert "6 messages, 3 appels" in out.getvalue().splitlines()[1]  # French by default
    assert _state(world["a"])["messages"][15][1] == ("", "+33•••••••15")
    # without --org: every organisation, each by its own mode (C deletes)
    call_command("purge", "--before", day, stdout=io.StringIO())
    assert _state(world["c"])["messages"][9] == [None, None]
    assert _state(world["b"])["messages"][9][0] == ("", "+33•••••••09")  # masked, kept


@pytest.mark.parametrize(
    "args",
    [
        ["--org", "nope"],
        ["--org", "../etc"],
        ["--org", "a\x1b[2J"],
        ["--org", "A" * 300],
        ["--org", "a\x00"],
        ["--before", "2020-02-30"],
        ["--before", "'; DROP TABLE messaging_message; --"],
        ["--before", "2999-01-01"],
    ],
    ids=["unknown", "path", "escape", "long", "nul", "no-such-day", "sql", "future"],
)
def test_the_command_refuses_hostile_input(world: dict, args: list[str]) -> None:  # type: ignore[type-arg]
    states = {slug: _state(side) for slug, side in world.items()}
    full = ["--before", "2026-01-01", *args] if "--before" not in args else ["--org", "a", *args]
    with pytest.raises(CommandError) as refused:
        call_command("purge", *full, stdout=io.StringIO())
    assert refused.value.returncode == 2 and "\n" not in str(refused.value)
    assert {slug: _state(side) for slug, side in world.items()} == states


def test_the_setting_by_command_and_platform_page(world: dict) -> None:  # type: ignore[type-arg]
    a = world["a"]["org"]
    out = io.StringIO()
    call_command("org", "retention", "a", "--months", "18", "--mode", "mask", stdout=out)
    assert out.getvalue().splitlines()[-1] == "a\t18\t18\tmask"
    call_command("org", "retention", "a", "--months", "0", stdout=(out := io.StringIO()))
    assert out.getvalue().splitlines()[-1] == "a\t0\t24\tmask"  # the platform's
    entry = Entry.objects.filter(action=Action.SETTINGS, target_id=str(a.pk)).order_by("-id")[0]
    assert entry.before == {"retention_months": 18, "retention_mode": "mask"}
    assert entry.after == {"retention_months": 0, "retention_mode": "mask"}
    for bad in (
        ["--months", "-1"],
        ["--months", "1e3"],
        ["--months", "٣"],
        ["--months", "6\x00"],
        ["--months", str(organisations.MAX_RETENTION_MONTHS + 1)],
        ["--months", "9" * 400],
        ["--mode", "shred"],
        ["--mode", "MASK"],
        ["--mode", "mask\x00"],
        ["--months", "x", "--mode", "y"],
    ):
        with pytest.raises(CommandError) as refused:
            call_command("org", "retention", "a", *bad, stdout=io.StringIO())
        assert refused.value.returncode == 2 and "\n" not in str(refused.value), bad
    for slug in ("nope", "a\x00", "../a", "a" * 300):
        with pytest.raises(CommandError) as refused:
            call_command("org", "retention", slug, "--months", "3", stdout=io.StringIO())
        assert refused.value.returncode == 2 and "\n" not in str(refused.value)
    a.refresh_from_db()
    assert (a.retention_months, a.retention_mode) == (0, "mask")
    # the platform page
    provider = accounts.create_user(username="provider", password=PASSWORD, platform=True)
    client = Client()
    client.force_login(provider)
    page = client.get("/platform/").content.decode()
    assert 'name="retention_months"' in page and 'name="retention_mode"' in page
    count = Entry.objects.filter(action=Action.SETTINGS).count()
    answer = client.post(
        "/platform/organisations/a/retention/",
        {"retention_months": "7", "retention_mode": "delete"},
        follow=True,
    )
    a.refresh_from_db()
    assert (a.retention_months, a.retention_mode) == (7, "delete")
    assert "7" in answer.content.decode()
    assert Entry.objects.filter(action=Action.SETTINGS).count() == count + 1
    for bad in (
        {"retention_months": "-3", "retention_mode": "mask"},
        {"retention_months": "5", "retention_mode": "burn"},
        {"retention_months": "5" * 30, "retention_mode": "mask"},
    ):
        client.post("/platform/organisations/a/retention/", bad)
        a.refresh_from_db()
        assert (a.retention_months, a.retention_mode) == (7, "delete"), bad
    assert Entry.objects.filter(action=Action.SETTINGS).count() == count + 1
    # an organisation's administrator reaches no platform page
    admin = Client()
    admin.force_login(world["a"]["admin"])
    refused_page = admin.post(
        "/platform/organisations/b/retention/",
        {"retention_months": "1", "retention_mode": "delete"},
    )
    assert refused_page.status_code == 404
    b = world["b"]["org"]
    b.refresh_from_db()
    assert (b.retention_months, b.retention_mode) == (12, "mask")


def test_its_administrators_read_it_in_the_journal(world: dict) -> None:  # type: ignore[type-arg]
    pages = {}
    for slug in ("a", "b", "c"):
        client = Client()
        client.force_login(world[slug]["admin"])
        page = client.get("/accounts/journal/")
        assert page.status_code == 200
        pages[slug] = page.content.decode()
    assert "de plus de 6 mois sont supprimés" in pages["a"]  # French by default
    assert "de plus de 12 mois ont leur texte effacé" in pages["b"]
    assert "de plus de 24 mois sont supprimés" in pages["c"]  # the platform's
    assert 'name="retention_months"' not in pages["a"]  # read-only


def test_mask_number() -> None:
    assert retention.mask_number("+33612345678") == "+33•••••••78"
    assert retention.mask_number("+1202555012") == "+12••••••12"
    assert retention.mask_number("36180") == "•••••"
    assert retention.mask_number("EDF") == "•••"
    assert retention.mask_number("") == "•"


def test_a_hidden_caller_and_a_short_code_are_masked_once(world: dict) -> None:  # type: ignore[type-arg]
    b = world["b"]["org"]
    old = timezone.now() - 20 * MONTH
    hidden = Call.objects.create(caller="", gateway="line-b", at=old, organisation=b)
    short = Call.objects.create(caller="36180", gateway="line-b", at=old, organisation=b)
    _run_worker()  # ends: a masked row leaves what is still to mask
    hidden.refresh_from_db()
    short.refresh_from_db()
    assert (hidden.caller, short.caller) == ("•", "•••••")
    assert (
        retention.plan(before=timezone.now(), org=b, mask=True).masked_calls == 2
    )  # the young (2, 9)


def test_a_settled_organisation_is_looked_at_again_an_hour_later(world: dict) -> None:  # type: ignore[type-arg]
    """With masking, the old rows stay: finding none left to mask reads them, so the worker
    looks again at an organisation with nothing left only an hour later."""
    _run_worker()
    b = world["b"]
    now = timezone.now()
    late = receiving.receive_inbound(
        gateway="line-b", sender="+33652000077", text="Quokka tardif", received_at=now
    )
    assert late is not None
    actions.mark_read([late.id], org=b["org"])
    Message.objects.for_org(b["org"]).filter(id=late.id).update(created_at=now - 20 * MONTH)
    assert retention.step(now=now).total == 0  # settled: not looked at
    assert Message.objects.for_org(b["org"]).get(id=late.id).body == "Quokka tardif"
    assert retention.step(now=now + timedelta(minutes=61)).masked_messages == 1
    masked = Message.objects.for_org(b["org"]).get(id=late.id)
    assert masked.body == "" and masked.peer == "+33•••••••77"
