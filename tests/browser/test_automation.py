"""Issue 20 as a user sees it: a recurring send and its next date, a keyword rule answering in
the discussion, a dynamic group's live count; at 1280 and 390 px."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import override
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.directory.models import Contact, ContactField
from smsdesk.messaging.models import Message, Recurrence
from tests.browser.conftest import shot
from tests.browser.test_stop_and_calls import simulate
from tests.worker.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def log_in(page, path: str) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("claire", password="un mot de passe 42", role=User.Role.ADMIN)
    page.goto(page.base + path)
    page.get_by_label("Nom d’utilisateur").fill("claire")
    page.get_by_label("Mot de passe").fill("un mot de passe 42")
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    page.wait_for_load_state()  # the URL changes before the page is whole (a loaded machine)


def test_create_a_recurring_send_and_see_its_next_date(page) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Réunion d’équipe à 10h")
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78")
    page.locator("#repeat summary").click()
    expect(page.locator("#repeat")).to_have_js_property("open", True)
    page.get_by_label("L’envoyer de nouveau chaque jour, semaine ou mois").check()
    page.get_by_label("Tous les").select_option("week")
    page.get_by_label("lundi").check()
    page.get_by_label("jeudi").check()
    page.get_by_label("À (heure locale)").fill("09:00")
    shot(page, "recurring-new-1280")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page).to_have_url(re.compile(r"/sms/recurring/$"))
    rec = Recurrence.objects.get()
    with override("fr"):
        expected = date_format(timezone.localtime(rec.next_at), "l j F Y, H:i")
    assert expected.endswith("09:00") and expected.split()[0] in ("lundi", "jeudi")
    row = page.locator(f"tr[data-recurrence-id='{rec.id}']")
    expect(row.locator(".sd-next")).to_have_text(expected)
    expect(row).to_contain_text("Chaque semaine le lundi, jeudi à 09:00")
    expect(page.locator(".alert-success")).to_contain_text(expected)
    assert not Message.objects.exists()  # nothing sent before its day
    shot(page, "recurring-list-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(row.locator(".sd-next")).to_be_visible()
    shot(page, "recurring-list-390")
    # pause, then resume
    row.get_by_role("button", name="Mettre en pause").click()
    expect(page.locator(f"tr[data-recurrence-id='{rec.id}']")).to_contain_text("en pause")
    page.locator(f"tr[data-recurrence-id='{rec.id}']").get_by_role(
        "button", name="Reprendre"
    ).click()
    expect(page.locator(f"tr[data-recurrence-id='{rec.id}'] .sd-next")).to_be_visible()


def test_create_a_keyword_rule_and_see_the_answer_in_the_discussion(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "/sms/autoreplies/")
    page.get_by_label("Mot-clé").fill("Horaires")
    page.get_by_label("Quand").select_option("word")
    page.get_by_label("Réponse", exact=True).fill("Ouvert du lundi au vendredi, 9h-18h.")
    page.get_by_role("button", name="Enregistrer la réponse automatique").click()
    expect(page.locator("#autoreply-table")).to_contain_text("Horaires")
    # the test box: which rule answers, with nothing sent
    page.get_by_placeholder("Un message comme un correspondant l’enverrait").fill("HORAIRES svp ?")
    expect(page.locator("#autoreply-answer")).to_contain_text("Ouvert du lundi au vendredi")
    page.get_by_placeholder("Un message comme un correspondant l’enverrait").fill("stop")
    expect(page.locator("#autoreply-test")).to_contain_text("STOP")
    shot(page, "autoreplies-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "autoreplies-390")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not Message.objects.exists()

    simulate("inbound", "--from", "06 98 76 54 32", "--text", "Horaires ?")
    wait_until(
        lambda: Message.objects.filter(direction="out", peer="+33698765432").exists(),
        30,
        "the automatic answer",
    )
    page.goto(page.base + "/sms/conversations/with/?number=%2B33698765432")
    expect(page.locator("body")).to_contain_text("Horaires ?")
    expect(page.locator("body")).to_contain_text("Ouvert du lundi au vendredi, 9h-18h.")
    shot(page, "autoreply-discussion-1280")


def test_a_dynamic_group_counts_its_members_live(page) -> None:  # type: ignore[no-untyped-def]
    ContactField.objects.create(key="ville", label="Ville")
    Contact.objects.create(name="Ana", number="+33611111111", fields={"ville": "Lyon"})
    Contact.objects.create(name="Bob", number="+33622222222", fields={"ville": "Lyon"})
    Contact.objects.create(name="Cyd", number="+33633333333", fields={"ville": "Paris"})
    log_in(page, "/directory/groups/new-dynamic/")
    page.get_by_label("Nom du groupe").fill("Lyonnais")
    page.locator("#field-0").select_option("ville")
    page.locator("#op-0").select_option("equals")
    page.locator("#value-0").fill("lyon")
    expect(page.locator("#rule-count")).to_have_attribute("data-count", "2")
    page.locator("#value-0").fill("Paris")
    expect(page.locator("#rule-count")).to_have_attribute("data-count", "1")
    shot(page, "dynamic-group-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "dynamic-group-390")
    page.get_by_role("button", name="Enregistrer le groupe").click()
    expect(page).to_have_url(re.compile(r"/directory/groups/$"))
    expect(page.locator("body")).to_contain_text("dynamique")
