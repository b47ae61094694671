"""The Utilisateurs page and the role boundaries: who may do what."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from smsdesk.accounts import services
from smsdesk.accounts.models import User
from smsdesk.messaging import sending
from smsdesk.messaging.models import Message
from tests.conftest import in_a_month

PASSWORD = "correct horse 42"


@pytest.fixture
def client_alice(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


# --- administrators only --------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/accounts/users/"),
        ("post", "/accounts/users/"),
        ("get", "/accounts/users/{id}/"),
        ("post", "/accounts/users/{id}/role/"),
        ("get", "/accounts/users/{id}/suspend/"),
        ("post", "/accounts/users/{id}/suspend/"),
        ("post", "/accounts/users/{id}/reactivate/"),
        ("post", "/accounts/users/{id}/password/"),
    ],
)
def test_an_operator_gets_403_on_every_user_page(
    client_bob: Client, admin_user: User, method: str, url: str
) -> None:
    url = url.format(id=admin_user.id)
    response = getattr(client_bob, method)(url, {"role": "operator", "username": "mallory"})
    assert response.status_code == 403
    assert "Action non autorisée" in response.content.decode()  # our page, in French
    admin_user.refresh_from_db()
    assert admin_user.role == "admin" and admin_user.is_active
    assert not User.objects.filter(username="mallory").exists()


@pytest.mark.django_db
def test_the_menu_shows_users_to_administrators_only(
    client_alice: Client, client_bob: Client
) -> None:
    assert "/accounts/users/" in client_alice.get("/").content.decode()
    assert "/accounts/users/" not in client_bob.get("/").content.decode()


# --- creating users -------------------------------------------------------------------------
@pytest.mark.django_db
def test_create_a_user_with_a_generated_password_shown_once(client_alice: Client) -> None:
    response = client_alice.post(
        "/accounts/users/", {"username": "carol", "role": "operator", "password": ""}
    )
    carol = User.objects.get(username="carol")
    assert response.status_code == 200  # the account's page, in the answer itself
    assert f'data-page-url="/accounts/users/{carol.id}/"' in response.content.decode()
    password = re.search(r'<code id="new-password"[^>]*>([^<]+)</code>', response.content.decode())
    assert password and carol.check_password(password.group(1))
    again = client_alice.get(f"/accounts/users/{carol.id}/").content.decode()
    assert password.group(1) not in again  # shown once
    assert carol.role == "operator"


@pytest.mark.django_db
def test_create_a_user_with_a_chosen_password(client_alice: Client) -> None:
    client_alice.post(
        "/accounts/users/", {"username": "dan", "role": "admin", "password": "pont levis 1789"}
    )
    dan = User.objects.get(username="dan")
    assert dan.role == "admin" and dan.check_password("pont levis 1789")


@pytest.mark.django_db
def test_a_weak_password_and_a_taken_name_are_both_said(client_alice: Client) -> None:
    response = client_alice.post(
        "/accounts/users/", {"username": "alice", "role": "operator", "password": "123"}
    )
    assert response.status_code == 400
    assert "existe déjà" in response.content.decode()
    assert User.objects.count() == 1


# --- role, suspension, password -------------------------------------------------------------
@pytest.mark.django_db
def test_change_a_role(client_alice: Client, operator: User) -> None:
    client_alice.post(f"/accounts/users/{operator.id}/role/", {"role": "admin"})
    operator.refresh_from_db()
    assert operator.role == "admin"


@pytest.mark.django_db
def test_the_last_administrator_cannot_be_demoted_nor_suspended(
    client_alice: Client, admin_user: User
) -> None:
    response = client_alice.post(
        f"/accounts/users/{admin_user.id}/role/", {"role": "operator"}, follow=True
    )
    assert "dernier administrateur" in response.content.decode()
    client_alice.post(f"/accounts/users/{admin_user.id}/suspend/")
    admin_user.refresh_from_db()
    assert admin_user.role == "admin" and admin_user.is_active
    with pytest.raises(services.LastAdministrator):
        services.set_active(user=admin_user, active=False)


@pytest.mark.django_db
def test_with_a_second_administrator_one_may_step_down(
    client_alice: Client, admin_user: User
) -> None:
    services.create_user(username="root2", password=PASSWORD, role="admin")
    client_alice.post(f"/accounts/users/{admin_user.id}/role/", {"role": "operator"})
    admin_user.refresh_from_db()
    assert admin_user.role == "operator"


@pytest.mark.django_db
def test_suspend_asks_first_then_locks_out(client_alice: Client, operator: User) -> None:
    bob = Client()
    bob.force_login(operator)
    confirm = client_alice.get(f"/accounts/users/{operator.id}/suspend/")
    assert confirm.status_code == 200 and "Suspendre le compte" in confirm.content.decode()
    operator.refresh_from_db()
    assert operator.is_active  # the GET only asks
    client_alice.post(f"/accounts/users/{operator.id}/suspend/")
    operator.refresh_from_db()
    assert not operator.is_active
    assert bob.get("/").status_code == 302  # logged out at once
    login = Client().post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert login.status_code == 200  # the form again, not a redirect in
    client_alice.post(f"/accounts/users/{operator.id}/reactivate/")
    operator.refresh_from_db()
    assert operator.is_active


@pytest.mark.django_db
def test_reset_a_password_ends_the_users_sessions(client_alice: Client, operator: User) -> None:
    bob = Client()
    bob.force_login(operator)
    response = client_alice.post(f"/accounts/users/{operator.id}/password/", {}, follow=True)
    new = re.search(r'<code id="new-password"[^>]*>([^<]+)</code>', response.content.decode())
    operator.refresh_from_db()
    assert new and operator.check_password(new.group(1))
    assert bob.get("/").status_code == 302


# --- my own password ------------------------------------------------------------------------
@pytest.mark.django_db
def test_change_my_own_password(client_bob: Client, operator: User) -> None:
    response = client_bob.post(
        "/accounts/me/password/",
        {
            "old_password": PASSWORD,
            "new_password": "une autre phrase 7",
            "new_password_again": "une autre phrase 7",
        },
        follow=True,
    )
    assert "Votre mot de passe a été changé" in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_password("une autre phrase 7")
    assert client_bob.get("/").status_code == 200  # still logged in here


@pytest.mark.django_db
def test_my_password_needs_the_current_one_and_a_strong_one(
    client_bob: Client, operator: User
) -> None:
    response = client_bob.post(
        "/accounts/me/password/",
        {"old_password": "wrong", "new_password": "123", "new_password_again": "123"},
    )
    assert response.status_code == 400
    assert "mot de passe actuel" in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


# --- messages: operators act on their own ---------------------------------------------------
@pytest.mark.django_db
def test_an_operator_cannot_cancel_an_administrators_message(
    client_bob: Client, client_alice: Client, admin_user: User
) -> None:
    [m] = sending.create_campaign(
        author=admin_user, body="x", to=["0612345678"], send_at=in_a_month()
    ).created_messages
    response = client_bob.post(f"/sms/messages/{m.id}/cancel/", follow=True)
    assert "Seuls son auteur ou un administrateur" in response.content.decode()
    m.refresh_from_db()
    assert m.status == "scheduled"


@pytest.mark.django_db
def test_an_administrator_cancels_any_message_and_is_recorded(
    client_alice: Client, operator: User, admin_user: User
) -> None:
    [m] = sending.create_campaign(
        author=operator, body="x", to=["0612345678"], send_at=in_a_month()
    ).created_messages
    client_alice.post(f"/sms/messages/{m.id}/cancel/")
    m.refresh_from_db()
    assert (m.status, m.cancelled_by) == ("cancelled", admin_user)
    assert "par alice" in client_alice.get("/sms/sent/").content.decode()


@pytest.mark.django_db
def test_a_retry_records_who_asked(client_bob: Client, operator: User) -> None:
    [m] = sending.create_campaign(author=operator, body="x", to=["0612345678"]).created_messages
    Message.objects.filter(id=m.id).update(status="failed")
    client_bob.post(f"/sms/messages/{m.id}/retry/")
    m.refresh_from_db()
    assert (m.status, m.retried_by) == ("queued", operator)
    assert "renvoyé par bob" in client_bob.get("/sms/sent/").content.decode()


@pytest.mark.django_db
def test_operators_read_every_conversation(client_bob: Client, admin_user: User) -> None:
    sending.create_campaign(author=admin_user, body="Réunion à 9 h", to=["0612345678"])
    assert "Réunion à 9 h" in client_bob.get("/sms/sent/").content.decode()
