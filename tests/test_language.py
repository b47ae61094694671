"""French by default, whatever the browser asks; English with the switch."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_french_even_for_an_english_browser(client_bob: Client) -> None:
    html = client_bob.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "SMS envoyés" in html and "Répertoire" in html
    login = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Connexion" in login


@pytest.mark.django_db
def test_the_switch_turns_every_screen_to_english_and_back(client_bob: Client) -> None:
    response = client_bob.post("/i18n/setlang/", {"language": "en", "next": "/sms/sent/"})
    assert response.status_code == 302 and response.url == "/sms/sent/"
    html = client_bob.get("/sms/sent/").content.decode()
    assert "Sent SMS" in html and "New SMS" in html and "SMS envoyés" not in html
    client_bob.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert "SMS envoyés" in client_bob.get("/").content.decode()


@pytest.mark.django_db
def test_an_unknown_language_falls_back_to_french(client_bob: Client) -> None:
    client_bob.cookies["django_language"] = "de"
    assert "SMS envoyés" in client_bob.get("/").content.decode()
