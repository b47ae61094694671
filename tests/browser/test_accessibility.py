"""Every page read by axe-core (issue 21): no serious or critical result, in French and
English, at 1280 px (a desk) and 390 px (a phone).

axe-core is served from the test suite (tests/browser/vendor/axe.min.js, 4.10.2, MPL-2.0,
from the npm registry), never from a CDN: it is evaluated in the page through the
DevTools protocol, which the Content-Security-Policy does not see, so the pages keep theirs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from smsdesk.accounts.models import User
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
PASSWORD = "un mot de passe 42"
WIDTHS = {"desk": (1280, 800), "phone": (390, 844)}


def seed() -> dict[str, int]:
    """One of everything a page can show."""
    from smsdesk.calls import services as calls
    from smsdesk.directory import services as directory
    from smsdesk.directory.models import ContactField
    from smsdesk.messaging import campaigns, lifecycle, receiving, sending
    from smsdesk.messaging.models import Conversation, Message
    from smsdesk.optout import services as optout

    admin = User.objects.create_user("alice", password=PASSWORD, role=User.Role.ADMIN)
    User.objects.create_user("bob", password=PASSWORD)
    ContactField.objects.create(key="ville", label="Ville")
    helene = directory.create_contact(
        name="DURAND", first_name="Hélène", number="0611111111", fields={"ville": "Lille"}
    )
    directory.create_contact(name="MICHEL", first_name="Léa", number="0622222222")
    group = directory.create_group(name="Élèves", contacts=[helene.id])
    sent = sending.create_campaign(
        author=admin, body="Réunion l'AG demain", to=["0611111111", "0622222222", "0633333333"]
    )
    first, second, third = sent.messages.order_by("id")
    for t in (lifecycle.CLAIM, lifecycle.SEND, lifecycle.DELIVER):
        lifecycle.move(t, ids=[first.id])
    for t in (lifecycle.CLAIM, lifecycle.REFUSE):
        lifecycle.move(t, ids=[second.id], error="Refused by the network.")
    campaigns.cancel_campaign(sent.id, by=admin)
    later = sending.create_campaign(
        author=admin,
        body="Rappel {prénom|Madame, Monsieur}",
        to=["0644444444"],
        send_at=timezone.now() + timedelta(days=1),
        tag="rappel",
    )
    receiving.receive_inbound(
        gateway="simulator", sender="+33611111111", text="Merci !", received_at=timezone.now()
    )
    optout.opt_out("+33655555555", source="sms", keyword="STOP")
    calls.record_call(gateway="simulator", caller="+33611111111", at=timezone.now())
    return {
        "contact": helene.id,
        "group": group.id,
        "campaign": sent.id,
        "later": later.id,
        "conversation": Conversation.objects.get(peer="+33611111111").id,
        "message": third.id,
        "scheduled_message": Message.objects.get(campaign=later).id,
        "user": User.objects.get(username="bob").id,
        "entry": optout.OptOut.objects.get().id if hasattr(optout, "OptOut") else 0,
    }


def pages(ids: dict[str, int]) -> list[str]:
    from smsdesk.optout.models import OptOut

    return [
        "/",
        "/sms/conversations/",
        f"/sms/conversations/{ids['conversation']}/",
        "/sms/new/",
        "/sms/sent/",
        "/sms/sent/?status=failed&period=week",
        "/sms/scheduled/",
        f"/sms/campaigns/{ids['later']}/edit/",
        "/sms/campaigns/",
        f"/sms/campaigns/{ids['campaign']}/",
        f"/sms/campaigns/{ids['campaign']}/requeue/",
        f"/sms/campaigns/{ids['later']}/cancel/",
        f"/sms/messages/{ids['scheduled_message']}/cancel/",
        f"/sms/messages/{ids['message']}/requeue/",
        "/sms/received/",
        "/sms/unread/",
        "/directory/contacts/",
        "/directory/contacts/?q=helene",
        f"/directory/contacts/{ids['contact']}/",
        f"/directory/contacts/{ids['contact']}/edit/",
        "/directory/contacts/new/",
        "/directory/contacts/import/",
        "/directory/contacts/fields/",
        "/directory/groups/",
        "/directory/groups/new/",
        f"/directory/groups/{ids['group']}/edit/",
        "/stop/",
        "/stop/history/",
        f"/stop/{OptOut.objects.get().id}/remove/",
        "/calls/",
        "/accounts/users/",
        f"/accounts/users/{ids['user']}/",
        "/accounts/me/",
        "/gateways/",
        "/sms/recurring/",
        "/sms/autoreplies/",
        "/statistics/",
        "/directory/groups/new-dynamic/",
        "/stop/import/",
        "/settings/webhooks/",
    ]


def axe_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.evaluate(AXE)
    result = page.evaluate(
        """() => axe.run(document, {resultTypes: ['violations'],
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                             'best-practice']}})"""
    )
    found = []
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical"):
            targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
            summary = v["nodes"][0].get("failureSummary", "").replace("\n", " ")[:200]
            found.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {targets} {summary}")
    return found


def log_in(page, problems: dict[str, list[str]], name: str = "alice") -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base + "/accounts/login/")
    if found := axe_problems(page):
        problems["/accounts/login/"] = found
    page.locator("#id_username").fill(name)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button.w-100[type=submit]").click()
    page.wait_for_url(page.base + "/")


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_has_no_serious_axe_result(browser, live_server, language, width) -> None:  # type: ignore[no-untyped-def]
    ids = seed()
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="fr-FR")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.base = live_server.url
    problems: dict[str, list[str]] = {}
    log_in(page, problems)
    for path in pages(ids):
        page.goto(page.base + path)  # then what htmx loads with the page (the counters)
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        found = axe_problems(page)
        if found:
            problems[path] = found
            shot(page, f"axe-{language}-{width}-{path.strip('/').replace('/', '-') or 'home'}")
    context.close()
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def more_pages() -> tuple[list[str], list[str], list[str]]:
    """The pages the sweep above does not open: the provider's (/platform/, with a quota and a
    retention set so that their inputs show, and a read-only visit recorded), the account and
    settings pages an administrator opens now and then, and the pages before login."""
    from smsdesk.accounts import services as accounts
    from smsdesk.core import tenancy
    from smsdesk.tenants import organisations
    from smsdesk.webhooks import services as webhooks

    default = tenancy.sole_organisation()
    organisations.set_quota(default, per_day=500, per_month=10_000)
    other = organisations.create_organisation(name="Cabinet Martin")
    organisations.set_quota(other, per_day=40)
    organisations.set_retention(default, months=12, mode="mask")  # shown in the Journal
    accounts.create_user(username="provider", password=PASSWORD, platform=True)
    endpoint, _secret = webhooks.create_endpoint(
        by=User.objects.get(username="alice"),
        url="http://127.0.0.1:9/hooks/sms",
        events=["message.status"],
        org=default,
    )
    provider = ["/platform/"]
    admin = [
        "/accounts/me/2fa/",
        "/accounts/journal/",
        "/stop/confirmation/",
        f"/settings/webhooks/{endpoint.id}/",
    ]
    anonymous = ["/accounts/login/", "/accounts/password_reset/", "/accounts/password_reset/done/"]
    return provider, admin, anonymous


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_provider_account_and_login_pages_have_no_serious_axe_result(  # type: ignore[no-untyped-def]
    browser, live_server, settings, language, width
) -> None:
    settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE = True  # the endpoint below: no DNS in the tests
    seed()
    provider, admin, anonymous = more_pages()
    w, h = WIDTHS[width]
    problems: dict[str, list[str]] = {}
    for who, paths in ((None, anonymous), ("provider", provider), ("alice", admin)):
        context = browser.new_context(viewport={"width": w, "height": h}, locale="fr-FR")
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.base = live_server.url
        if who:
            page.goto(page.base + "/accounts/login/")
            page.locator("#id_username").fill(who)
            page.locator("#id_password").fill(PASSWORD)
            page.locator("form button.w-100[type=submit]").click()
            page.wait_for_load_state()
        for path in paths:
            response = page.goto(page.base + path)
            assert response is not None and response.status == 200, (who, path, response)
            page.wait_for_function("() => !document.querySelector('.htmx-request')")
            if found := axe_problems(page):
                problems[f"{who or 'anonymous'} {path}"] = found
                name = path.strip("/").replace("/", "-") or "home"
                shot(page, f"axe-{language}-{width}-{name}")
        if who == "provider":
            # the quota inputs are on the page this sweep read
            assert page.locator("input[name=per_day]").count() >= 2
        context.close()
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)
