"""An administrator manages users in the browser (the Utilisateurs page); pages keep to the
Content-Security-Policy (the browser would refuse an inline script and say so)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un mot de passe 42"


def watch_csp(page) -> list[str]:  # type: ignore[no-untyped-def]
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return refused


def log_in(page, name: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(name)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_an_administrator_creates_suspends_and_reactivates_a_user(page) -> None:  # type: ignore[no-untyped-def]
    refused = watch_csp(page)
    User.objects.create_user("alice", password=PASSWORD, role=User.Role.ADMIN)
    log_in(page, "alice")
    page.get_by_role("link", name="Utilisateurs").click()
    expect(page.get_by_role("heading", name="Utilisateurs")).to_be_visible()
    page.get_by_label("Nom d’utilisateur").fill("carole")
    page.get_by_label("Rôle").select_option("operator")
    shot(page, "users")
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_text("Le compte « carole » a été créé.")).to_be_visible()
    password = page.locator("#new-password").inner_text()
    carole = User.objects.get(username="carole")
    assert carole.check_password(password)
    shot(page, "user-created")
    # shown in the answer to the form, never kept in the session: the address is the
    # account's own page, so a reload shows it without the password and posts nothing
    expect(page).to_have_url(re.compile(rf"/accounts/users/{carole.id}/$"))
    page.reload()
    expect(page.locator("#new-password")).to_have_count(0)  # shown once

    page.get_by_role("link", name="Suspendre").click()
    expect(page.get_by_text("Suspendre le compte « carole » ?")).to_be_visible()
    shot(page, "user-suspend-confirm")
    page.get_by_role("button", name="Suspendre").click()
    expect(page.get_by_text("Le compte « carole » est suspendu.")).to_be_visible()
    assert not User.objects.get(username="carole").is_active
    page.get_by_role("button", name="Réactiver").click()
    expect(page.get_by_text("est de nouveau actif")).to_be_visible()
    assert refused == []


def test_the_users_page_on_a_phone_and_an_operator_is_refused(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("alice", password=PASSWORD, role=User.Role.ADMIN)
    User.objects.create_user("bob", password=PASSWORD)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base = live_server.url
    refused = watch_csp(page)
    log_in(page, "alice")
    page.goto(page.base + "/accounts/users/")
    expect(page.get_by_role("button", name="Créer le compte")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    shot(page, "users-phone")
    page.goto(page.base + "/accounts/me/")
    shot(page, "my-account-phone")
    page.context.clear_cookies()
    log_in(page, "bob")
    response = page.goto(page.base + "/accounts/users/")
    assert response.status == 403
    expect(page.get_by_text("Action non autorisée")).to_be_visible()
    shot(page, "users-403-phone")
    assert refused == []
    context.close()


def test_a_new_token_is_shown_once_and_a_reload_makes_no_other(page) -> None:  # type: ignore[no-untyped-def]
    refused = watch_csp(page)
    User.objects.create_user("bob", password=PASSWORD)
    log_in(page, "bob")
    page.goto(page.base + "/accounts/me/")
    page.get_by_placeholder("Libellé, ex. CRM").fill("CRM")
    page.get_by_role("button", name="Créer un jeton").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("smsd_")
    expect(page).to_have_url(re.compile(r"/accounts/me/$"))
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    assert User.objects.get(username="bob").api_tokens.count() == 1
    assert refused == []
