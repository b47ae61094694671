"""Mon compte (issue 21): language and time zone kept per user, the password typed twice."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User
from smsdesk.messaging import sending
from smsdesk.messaging.models import Campaign

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse 42"


def fresh_browser() -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code
        == 302
    )
    return client


def test_the_language_switch_follows_the_user_to_another_browser(
    client_bob: Client, operator: User
) -> None:
    client_bob.post("/i18n/setlang/", {"language": "en", "next": "/"})
    operator.refresh_from_db()
    assert operator.language == "en"
    other = fresh_browser()
    page = other.get("/sms/sent/")
    assert "Sent SMS" in page.content.decode() and page["Content-Language"] == "en"
    assert other.cookies["django_language"].value == "en"  # the login page will speak it too
    logged_out = Client()
    logged_out.cookies["django_language"] = other.cookies["django_language"].value
    assert "Connexion" not in logged_out.get("/accounts/login/").content.decode()


def test_a_logged_out_switch_stores_nothing(operator: User) -> None:
    Client().post("/i18n/setlang/", {"language": "en", "next": "/"})
    operator.refresh_from_db()
    assert operator.language == ""


def test_language_and_time_zone_from_my_account(client_bob: Client, operator: User) -> None:
    page = client_bob.get("/accounts/me/").content.decode()
    assert 'name="time_zone"' in page and "<option>America/New_York</option>" in page
    sending.create_campaign(
        author=operator, body="x", to=["0612345678"], send_at=timezone.now() + timedelta(days=2)
    )
    client_bob.post("/accounts/me/preferences/", {"language": "en", "time_zone": "Asia/Tokyo"})
    operator.refresh_from_db()
    assert (operator.language, operator.time_zone) == ("en", "Asia/Tokyo")
    due = Campaign.objects.get().send_at
    tokyo = timezone.localtime(due, zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    paris = timezone.localtime(due, zoneinfo.ZoneInfo("Europe/Paris")).strftime("%H:%M")
    html = fresh_browser().get(f"/sms/campaigns/{Campaign.objects.get().id}/").content.decode()
    assert tokyo in html and "Campaign of" in html
    assert paris != tokyo


@pytest.mark.parametrize(
    "form,field",
    [
        ({"language": "de", "time_zone": ""}, "language"),
        ({"language": "fr", "time_zone": "Mars/Olympus"}, "time zone"),
        ({"language": "fr", "time_zone": "Europe/Paris\x00"}, "time zone"),
    ],
)
def test_a_wrong_preference_is_refused_and_nothing_stored(
    client_bob: Client, operator: User, form: dict, field: str
) -> None:
    page = client_bob.post("/accounts/me/preferences/", form, follow=True).content.decode()
    assert "Choisissez" in page
    operator.refresh_from_db()
    assert (operator.language, operator.time_zone) == ("", "")


def test_the_new_password_is_typed_twice(client_bob: Client, operator: User) -> None:
    page = client_bob.get("/accounts/me/").content.decode()
    assert "Confirmez le nouveau mot de passe" in page
    response = client_bob.post(
        "/accounts/me/password/",
        {
            "old_password": PASSWORD,
            "new_password": "une autre phrase 7",
            "new_password_again": "une autre phrase 8",
        },
    )
    assert response.status_code == 400
    assert "Les deux nouveaux mots de passe diffèrent" in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)
