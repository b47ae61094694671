"""Logging in and out, and the user's page where API tokens are made and revoked."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from smsdesk.accounts.models import ApiToken, User


@pytest.mark.django_db
def test_login_then_logout(operator: User) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/?next=/sms/sent/")
    csrf = page.cookies["csrftoken"].value
    wrong = client.post(
        "/accounts/login/?next=/sms/sent/",
        {"username": "bob", "password": "nope", "csrfmiddlewaretoken": csrf},
    )
    assert wrong.status_code == 200 and "incorrect" in wrong.content.decode()
    right = client.post(
        "/accounts/login/?next=/sms/sent/",
        {"username": "bob", "password": "correct horse 42", "csrfmiddlewaretoken": csrf},
    )
    assert right.status_code == 302 and right.url == "/sms/sent/"
    assert client.get("/sms/sent/").status_code == 200

    csrf = client.cookies["csrftoken"].value
    client.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf})
    assert client.get("/sms/sent/").status_code == 302


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(operator: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/sms/new/", {"body": "x", "numbers": "0612345678"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_token_made_on_my_page_works_once_shown_then_revoked(client_bob: Client) -> None:
    response = client_bob.post("/accounts/me/tokens/", {"name": "CRM"})
    assert response.status_code == 200  # shown in the answer itself, see test_shown_once.py
    html = response.content.decode()
    raw = re.search(r'<code id="new-token"[^>]*>([^<]+)</code>', html).group(1)
    token = ApiToken.objects.get()
    assert token.name == "CRM" and raw not in (token.digest, token.prefix)  # stored hashed

    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/messages").status_code == 200
    # The page lists it afterwards without showing it again.
    listing = client_bob.get("/accounts/me/").content.decode()
    assert "CRM" in listing and raw not in listing

    client_bob.post(f"/accounts/me/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/messages").status_code == 401


@pytest.mark.django_db
def test_nobody_revokes_someone_elses_token(client_bob: Client, admin_user: User) -> None:
    client_alice = Client()
    client_alice.force_login(admin_user)
    client_alice.post("/accounts/me/tokens/", {"name": "alice's"})
    token = ApiToken.objects.get()
    client_bob.post(f"/accounts/me/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.filter(pk=token.pk).exists()
