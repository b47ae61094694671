"""Login throttling (django-axes): a user name is locked out from one address after
SMSDESK_LOGIN_FAILURES wrong passwords; each failure is logged."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from smsdesk.accounts.models import User

PASSWORD = "correct horse 42"


def _login(client: Client, password: str, address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/accounts/login/", {"username": "bob", "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_the_login_form_says_the_rule(operator: User) -> None:
    html = Client().get("/accounts/login/").content.decode()
    assert "Après 10 mots de passe erronés" in html and "15 minutes" in html


@pytest.mark.django_db
def test_ten_failures_lock_the_name_out_even_with_the_right_password(operator: User) -> None:
    client = Client()
    for _ in range(9):
        assert _login(client, "wrong").status_code == 200
    locked = _login(client, "wrong")
    assert locked.status_code == 429
    assert "bloqué depuis cet ordinateur pendant 15 minutes" in locked.content.decode()
    right = _login(client, PASSWORD)
    assert right.status_code == 429  # the right password no longer opens the door
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_another_address_and_another_name_are_not_locked(operator: User) -> None:
    for _ in range(10):
        _login(Client(), "wrong", address="10.0.0.1")
    assert _login(Client(), PASSWORD, address="10.0.0.2").status_code == 302
    User.objects.create_user("carol", password=PASSWORD)
    other = Client().post(
        "/accounts/login/",
        {"username": "carol", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
    )
    assert other.status_code == 302


@pytest.mark.django_db
def test_a_success_before_the_limit_starts_the_count_again(operator: User) -> None:
    client = Client()
    for _ in range(9):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(9):
        assert _login(client, "wrong").status_code == 200


@pytest.mark.django_db
def test_failed_logins_are_logged(operator: User, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="smsdesk.accounts.login"):
        _login(Client(), "wrong", address="192.0.2.7")
    assert "failed login for user name 'bob' from 192.0.2.7" in caplog.text
    assert "wrong" not in caplog.text.replace("'bob'", "")  # never the password


def test_the_session_lasts_twelve_hours_by_default(settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
