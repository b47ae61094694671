"""The same New SMS sent twice from the browser sends once: a double click, or Back after
saving and one more click."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.messaging.models import Message
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_back_then_save_again_sends_once(page) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("claire", password="un mot de passe 42")
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill("claire")
    page.get_by_label("Mot de passe").fill("un mot de passe 42")
    page.get_by_role("button", name="Connexion").click()
    page.goto(page.base + "/sms/new/")
    page.get_by_label("Texte du SMS").fill("Une seule fois")
    page.get_by_label("Numéros cibles").fill("06 12 34 56 78")
    page.get_by_role("button", name="Enregistrer le SMS").dblclick()
    expect(page).to_have_url(re.compile(r"/sms/sent/$"))
    assert Message.objects.count() == 1
    page.go_back()
    expect(page).to_have_url(re.compile(r"/sms/new/$"))
    # autocomplete="off": the browser shows a fresh form (with a fresh key), not the old text
    # under a new key, which would send it again
    expect(page.get_by_label("Texte du SMS")).to_have_value("")
    page.get_by_role("button", name="Enregistrer le SMS").click()
    expect(page.get_by_text("Le texte du SMS est vide.")).to_be_visible()
    shot(page, "back-then-save")
    assert Message.objects.count() == 1
