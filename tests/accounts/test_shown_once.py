"""A secret is shown once, in the answer to the form that made it, and kept readable nowhere:
not in the session table (as it was until the next page was shown), nor in a cookie."""

from __future__ import annotations

import re
from importlib import import_module

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from smsdesk.accounts.models import ApiToken, User

PASSWORD = "correct horse 42"


def everything_in_the_sessions() -> str:
    """Every session row, raw and decoded, whichever engine is configured."""
    model = import_module(settings.SESSION_ENGINE).SessionStore.get_model_class()
    return "\n".join(f"{s.session_data} {s.get_decoded()!r}" for s in model.objects.all())


def shown(response: HttpResponse, element_id: str) -> str:
    found = re.search(rf'<code id="{element_id}"[^>]*>([^<]+)</code>', response.content.decode())
    assert found, f"#{element_id} is not in the answer"
    return found.group(1)


def kept_nowhere(secret: str, client: Client) -> None:
    assert secret not in everything_in_the_sessions()
    assert all(secret not in cookie.value for cookie in client.cookies.values())


@pytest.mark.django_db
def test_a_new_token_is_in_the_answer_and_nowhere_else(client_bob: Client) -> None:
    response = client_bob.post("/accounts/me/tokens/", {"name": "CRM"})
    assert "smsd_" not in everything_in_the_sessions()  # read before anything else is shown
    assert response.status_code == 200
    raw = shown(response, "new-token")
    assert ApiToken.objects.get(name="CRM").digest == ApiToken.digest_of(raw)
    kept_nowhere(raw, client_bob)
    assert raw not in client_bob.get("/accounts/me/").content.decode()  # shown once
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/messages").status_code == 200


@pytest.fixture
def client_alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_a_generated_password_for_a_new_user_is_kept_nowhere(client_alice: Client) -> None:
    response = client_alice.post("/accounts/users/", {"username": "carol", "role": "operator"})
    before = everything_in_the_sessions()
    password = shown(response, "new-password")
    assert password not in before
    carol = User.objects.get(username="carol")
    assert carol.check_password(password)
    kept_nowhere(password, client_alice)
    # the page is the account's own: reloading it shows no password and posts nothing again
    assert f'data-page-url="/accounts/users/{carol.id}/"' in response.content.decode()
    assert password not in client_alice.get(f"/accounts/users/{carol.id}/").content.decode()


@pytest.mark.django_db
def test_a_password_reset_is_kept_nowhere(client_alice: Client, operator: User) -> None:
    response = client_alice.post(f"/accounts/users/{operator.id}/password/", {})
    before = everything_in_the_sessions()
    password = shown(response, "new-password")
    assert password not in before
    operator.refresh_from_db()
    assert operator.check_password(password)
    kept_nowhere(password, client_alice)
