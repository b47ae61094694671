"""The notices of new SMS are a per-user choice on "Mon compte"."""

from __future__ import annotations

import pytest
from django.test import Client

from smsdesk.accounts.models import User


@pytest.fixture(autouse=True)
def notices_on(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_NOTIFY_SECONDS = 10  # tests/settings.py turns them off for other tests


@pytest.mark.django_db
def test_notices_are_on_by_default_and_silent(client_bob: Client, operator: User) -> None:
    html = client_bob.get("/sms/sent/").content.decode()
    assert 'id="sd-notices"' in html and 'data-url="/sms/inbound/notices/"' in html
    assert 'data-sound="on"' not in html
    assert operator.notify_inbound is True and operator.notify_sound is False


@pytest.mark.django_db
def test_the_user_turns_the_sound_on_then_the_notices_off(
    client_bob: Client, operator: User
) -> None:
    response = client_bob.post(
        "/accounts/me/notifications/", {"notify_inbound": "on", "notify_sound": "on"}
    )
    assert response.status_code == 302 and response.url == "/accounts/me/"
    operator.refresh_from_db()
    assert operator.notify_inbound and operator.notify_sound
    page = client_bob.get("/accounts/me/").content.decode()
    assert 'data-sound="on"' in page and "Vos réglages de notification sont enregistrés." in page
    # unchecking the notices turns the sound off with them: no sound without a notice
    client_bob.post("/accounts/me/notifications/", {"notify_sound": "on"})
    operator.refresh_from_db()
    assert not operator.notify_inbound and not operator.notify_sound
    assert 'id="sd-notices"' not in client_bob.get("/sms/sent/").content.decode()


@pytest.mark.django_db
def test_each_user_has_their_own(client_bob: Client, admin_user: User) -> None:
    client_bob.post("/accounts/me/notifications/", {})
    admin = Client()
    admin.force_login(admin_user)
    assert 'id="sd-notices"' in admin.get("/").content.decode()


@pytest.mark.django_db
def test_the_setting_is_changed_by_post_only(client_bob: Client, operator: User) -> None:
    assert client_bob.get("/accounts/me/notifications/?notify_inbound=").status_code == 405
    operator.refresh_from_db()
    assert operator.notify_inbound is True


@pytest.mark.django_db
def test_an_administrator_can_turn_notices_off_for_everyone(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_NOTIFY_SECONDS = 0
    assert 'id="sd-notices"' not in client_bob.get("/sms/sent/").content.decode()
