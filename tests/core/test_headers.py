"""Security headers on every page, error pages in the app's layout and language, and no
inline script or style attribute left in the templates (the CSP would block them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client, override_settings

import smsdesk

PAGES = ["/", "/sms/new/", "/sms/sent/", "/sms/conversations/", "/accounts/me/", "/stop/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_pages_carry_a_strict_csp_and_no_store(client_bob: Client, url: str) -> None:
    response = client_bob.get(url)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response  # only behind HTTPS, below


@pytest.mark.django_db
def test_static_files_stay_cacheable(client_bob: Client) -> None:
    response = client_bob.get("/static/core/smsdesk.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_the_api_answers_no_store(client_bob: Client, operator) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.accounts.services import create_token

    _token, raw = create_token(user=operator)
    response = Client().get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_PROXY_SSL_HEADER=None)
def test_hsts_behind_https(client_bob: Client) -> None:
    response = client_bob.get("/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_secure_cookies_turn_hsts_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import smsdesk.settings as settings_module

    monkeypatch.setenv("SMSDESK_SECURE_COOKIES", "true")
    try:
        reloaded = importlib.reload(settings_module)
        assert reloaded.SECURE_HSTS_SECONDS == 365 * 24 * 3600
        assert reloaded.SESSION_COOKIE_SECURE and reloaded.CSRF_COOKIE_SECURE
    finally:
        monkeypatch.delenv("SMSDESK_SECURE_COOKIES")
        importlib.reload(settings_module)


def test_no_inline_script_handler_or_style_in_any_template() -> None:
    root = Path(smsdesk.__file__).parent
    offenders = []
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text):
            offenders.append(f"{template.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{template.name}: on*= handler")
        if re.search(r"\sstyle\s*=", text) or "<style" in text:
            offenders.append(f"{template.name}: style")
    assert offenders == []


# --- error pages ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_404_in_the_layout_and_in_french(client_bob: Client) -> None:
    response = client_bob.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page introuvable" in html and "sd-sidebar" in html  # with the menu


@pytest.mark.django_db
def test_404_in_english_for_an_english_user(client_bob: Client) -> None:
    client_bob.cookies["django_language"] = "en"
    assert "Page not found" in client_bob.get("/no/such/page/").content.decode()


@pytest.mark.django_db
def test_403_in_the_layout(client_bob: Client) -> None:
    response = client_bob.get("/accounts/users/")
    assert response.status_code == 403
    assert "Action non autorisée" in response.content.decode()


@pytest.mark.django_db
def test_500_in_the_layout(client_bob: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from smsdesk.dashboard import services

    def broken() -> dict:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "figures", broken)
    client_bob.raise_request_exception = False
    response = client_bob.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Une erreur est survenue" in html and "boom" not in html


@pytest.mark.django_db
def test_400_in_the_layout(client_bob: Client) -> None:
    response = client_bob.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "Requête incorrecte" in response.content.decode()


@pytest.mark.django_db
def test_csrf_failure_page_says_what_to_do(operator) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/sms/new/", {"text": "x"})
    assert response.status_code == 403
    assert "Le formulaire a expiré" in response.content.decode()


# --- the API docs work with no internet -----------------------------------------------------
@pytest.mark.django_db
def test_api_docs_assets_come_from_the_project(client_bob: Client) -> None:
    html = client_bob.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert client_bob.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
