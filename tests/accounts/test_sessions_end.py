"""What ends a login session or an API token ends it for good (README "Security"):
a suspension, a password reset by an administrator, a change of one's own password."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.http import HttpResponse
from django.test import Client

from smsdesk.accounts import services
from smsdesk.accounts.models import ApiToken, LoginSession, User
from smsdesk.accounts.sessions import SessionStore

PASSWORD = "correct horse 42"
NEW_PASSWORD = "une autre phrase 7"


def logged_in(username: str, password: str = PASSWORD) -> Client:
    """A browser that logged in through the login form (a real session row)."""
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content
    return client


def is_in(client: Client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def api_works(raw_token: str) -> bool:
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}").get("/api/v1/messages")
    assert response.status_code in (200, 401)
    return response.status_code == 200


@pytest.fixture
def alice(admin_user: User) -> Client:
    return logged_in("alice")


# --- suspension -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_suspension_ends_the_sessions_for_good(alice: Client, operator: User) -> None:
    phone, desk = logged_in("bob"), logged_in("bob")
    alice.post(f"/accounts/users/{operator.id}/suspend/")
    alice.post(f"/accounts/users/{operator.id}/reactivate/")
    # Reactivated, bob logs in again: the cookies he had before the suspension are dead.
    assert not is_in(phone) and not is_in(desk)
    assert is_in(logged_in("bob"))
    assert is_in(alice)  # the administrator's own session is untouched


@pytest.mark.django_db
def test_each_session_row_carries_its_user_through_a_login(operator: User) -> None:
    client = Client()
    client.get("/accounts/login/")
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    key = client.cookies["sessionid"].value
    assert LoginSession.objects.get(session_key=key).user_id == operator.id
    client.post("/accounts/logout/")
    assert not LoginSession.objects.filter(session_key=key).exists()


@pytest.mark.django_db
def test_ending_a_users_sessions_is_one_query_whatever_their_number(
    operator: User, admin_user: User, django_assert_num_queries: Callable[..., Any]
) -> None:
    for user in [operator] * 30 + [admin_user] * 5:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store.create()
    with django_assert_num_queries(1):
        assert services.end_sessions(operator) == 30
    assert list(LoginSession.objects.values_list("user_id", flat=True)) == [admin_user.id] * 5


# --- a password reset by an administrator ---------------------------------------------------
@pytest.mark.django_db
def test_a_reset_by_an_administrator_ends_sessions_and_revokes_tokens(
    alice: Client, operator: User, admin_user: User
) -> None:
    phone = logged_in("bob")
    _token, raw = services.create_token(user=operator, name="CRM")
    _own, alices_raw = services.create_token(user=admin_user)
    assert api_works(raw)
    page = alice.post(f"/accounts/users/{operator.id}/password/", {}, follow=True)
    assert "déconnecté partout" in page.content.decode()
    assert "jetons d’API sont révoqués" in page.content.decode()
    # gone from the database at once, not only refused at the next request
    assert not LoginSession.objects.filter(user_id=operator.id).exists()
    assert not ApiToken.objects.filter(user=operator).exists()
    assert not api_works(raw) and not is_in(phone)
    assert api_works(alices_raw) and is_in(alice)  # only bob's


@pytest.mark.django_db
def test_the_reset_form_says_what_it_ends(alice: Client, operator: User) -> None:
    page = alice.get(f"/accounts/users/{operator.id}/").content.decode()
    assert "déconnecté partout et ses jetons d’API sont révoqués" in page


# --- a change of one's own password ---------------------------------------------------------
@pytest.mark.django_db
def test_my_password_change_ends_my_other_sessions_and_revokes_my_tokens(
    operator: User,
) -> None:
    desk, phone = logged_in("bob"), logged_in("bob")
    tokens = [services.create_token(user=operator, name=n)[1] for n in ("CRM", "script")]
    page = desk.post(
        "/accounts/me/password/",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
        follow=True,
    ).content.decode()
    assert "vous êtes déconnecté partout ailleurs" in page
    assert "Vos 2 jetons d’API ont été révoqués : créez-en de nouveaux" in page
    # the other session is gone from the database at once, not only refused when next used
    [kept] = LoginSession.objects.filter(user_id=operator.id)
    assert kept.session_key == desk.cookies["sessionid"].value
    assert is_in(desk)  # the browser that changed it stays logged in
    assert not is_in(phone)
    assert [api_works(raw) for raw in tokens] == [False, False]


@pytest.mark.django_db
def test_the_password_form_says_what_a_change_ends(client_bob: Client) -> None:
    page = client_bob.get("/accounts/me/").content.decode()
    assert "vous déconnecte partout ailleurs et révoque vos jetons d’API" in page


@pytest.mark.django_db
def test_a_refused_change_ends_nothing(operator: User) -> None:
    desk, phone = logged_in("bob"), logged_in("bob")
    _token, raw = services.create_token(user=operator)
    response = desk.post(
        "/accounts/me/password/",
        {"old_password": "wrong", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert is_in(phone) and api_works(raw)


# --- the current password is throttled like the login ---------------------------------------
def change(client: Client, old: str) -> HttpResponse:
    form = {"old_password": old, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    return client.post("/accounts/me/password/", form)


@pytest.mark.django_db
def test_wrong_current_passwords_lock_like_wrong_logins(operator: User) -> None:
    desk = logged_in("bob")
    for _ in range(9):  # SMSDESK_LOGIN_FAILURES is 10
        assert change(desk, "wrong").status_code == 400
    locked = change(desk, "wrong")
    assert locked.status_code == 429
    assert "Trop de mots de passe erronés" in locked.content.decode()
    assert 'name="old_password"' in locked.content.decode()  # said beside the field
    assert change(desk, PASSWORD).status_code == 429  # the right one no longer helps
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)
    # one count with the login: the name is locked on the login form from this address too
    login = Client().post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert login.status_code == 429
    assert is_in(desk)  # locked out of guessing, not logged out


@pytest.mark.django_db
def test_a_wrong_current_password_is_logged_as_a_failed_login(
    operator: User, caplog: pytest.LogCaptureFixture
) -> None:
    desk = logged_in("bob")
    with caplog.at_level(logging.WARNING, logger="smsdesk.accounts.login"):
        change(desk, "wrong")
    assert "failed login for user name 'bob' from 127.0.0.1" in caplog.text
