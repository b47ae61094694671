"""A campaign to three numbers with a personalised text and a tag: its page shows the
progress and the counts while the worker sends; the failed one is sent again after a
confirmation; a scheduled campaign is cancelled."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from smsdesk.directory.models import Contact
from smsdesk.messaging.models import Campaign, Message
from tests.browser.conftest import shot
from tests.browser.test_phone import PHONE, sideways_overflow
from tests.browser.test_send_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def count(page, bucket: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#campaign-counts [data-bucket={bucket}] .sd-count")


def test_a_personalised_campaign_with_its_progress_a_retry_and_a_cancel(
    page, running_worker
) -> None:  # type: ignore[no-untyped-def]
    Contact.objects.create(name="Martin", first_name="Léa", number="+33612345678")
    log_in(page)
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Bonjour {prénom|à vous}, la rentrée approche !")
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78\n+33600000001\n06 98 76 54 32")
    page.get_by_label("Étiquette").fill("rentrée")
    # the preview shows the first recipient's own text, and the longest one's size
    expect(page.locator("#preview-text")).to_have_text("Bonjour Léa, la rentrée approche !")
    expect(page.locator("#preview-longest")).to_contain_text("3 destinataires")
    shot(page, "campaign-new")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page.get_by_text("SMS enregistré pour 3 destinataires")).to_be_visible()

    page.get_by_role("link", name="Campagnes").click()
    expect(page.locator("#tag-filter")).to_contain_text("rentrée 1")
    page.get_by_role("link", name=re.compile("Bonjour \\{prénom")).click()
    expect(page.locator("#campaign-tag")).to_have_text("rentrée")
    expect(page.get_by_text("Bonjour à vous, la rentrée approche !")).to_have_count(2)
    # No reload: the counts and the bar follow the worker until everything is final.
    expect(count(page, "delivered")).to_have_text("2", timeout=20_000)
    expect(count(page, "failed")).to_have_text("1", timeout=20_000)
    expect(page.locator("#campaign-progress")).to_have_attribute("data-final", "yes")
    expect(page.locator("#campaign-percent")).to_contain_text("3 sur 3")
    lea = page.locator("#recipient-table tr", has_text="Léa Martin")
    expect(lea.locator("[data-status]")).to_have_text("Délivré", timeout=20_000)
    expect(lea).to_contain_text("Bonjour Léa, la rentrée approche !")
    shot(page, "campaign-page")

    page.get_by_role("link", name="Renvoyer les échecs et les inconnus").click()
    expect(page.locator("#confirm-question")).to_contain_text("1 message de cette campagne")
    shot(page, "campaign-retry")
    retried_at = timezone.now()
    page.get_by_role("button", name="Oui, les renvoyer").click()
    expect(page.get_by_text("1 message remis en file d’attente.")).to_be_visible()
    failed = Message.objects.get(peer="+33600000001")
    for _i in range(100):  # the worker takes it again, and the network refuses it again
        failed.refresh_from_db()
        if failed.status == Message.Status.FAILED and failed.status_at > retried_at:
            break
        page.wait_for_timeout(200)
    assert failed.status == Message.Status.FAILED and failed.status_at > retried_at
    expect(count(page, "failed")).to_have_text("1", timeout=20_000)
    expect(page.locator("#campaign-progress")).to_have_attribute("data-final", "yes")

    # a scheduled campaign, cancelled before it goes out
    later = timezone.localtime() + timedelta(days=10)
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Rappel {prénom|}")
    page.get_by_label("Date d’envoi du SMS").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78\n06 98 76 54 32\n06 11 22 33 44")
    page.get_by_label("Étiquette").fill("rentrée")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page.get_by_text("SMS enregistré pour 3 destinataires")).to_be_visible()
    scheduled = Campaign.objects.get(body="Rappel {prénom|}")
    page.goto(page.base + f"/sms/campaigns/{scheduled.id}/")
    expect(count(page, "waiting")).to_have_text("3")
    page.get_by_role("link", name="Annuler ce qui n’est pas parti").click()
    expect(page.locator("#confirm-question")).to_contain_text("3 messages de cette campagne")
    page.get_by_role("button", name="Oui, les annuler").click()
    expect(page.get_by_text("3 messages annulés")).to_be_visible()
    expect(count(page, "cancelled")).to_have_text("3")
    assert set(scheduled.messages.values_list("status", flat=True)) == {Message.Status.CANCELLED}
    page.goto(page.base + "/sms/campaigns/")
    expect(page.locator("#tag-filter")).to_contain_text("rentrée 2")
    shot(page, "campaigns")

    # on a phone: the list and a campaign's page fit the screen's width
    page.set_viewport_size(PHONE)
    for path in ("/sms/campaigns/", f"/sms/campaigns/{scheduled.id}/"):
        page.goto(page.base + path)
        expect(page.locator("h1")).to_be_visible()
        assert sideways_overflow(page) <= 0, path
    shot(page, "campagne-mobile")
