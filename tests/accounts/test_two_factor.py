"""Two-factor login: the set-up on Mon compte (QR code, secret, a code to confirm), the login
that asks for a code after the password, the recovery codes (each once), wrong codes
throttled, 2FA required (platform-wide or per user) sending users to the set-up, API tokens
working without a code."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from smsdesk.accounts import services
from smsdesk.accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse 42"


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the app shows (`steps_ahead` time steps later: a code is used once, so a
    second login within the same 30 s takes the next one, inside the tolerance)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def _password(client: Client, username: str = "bob") -> str:
    answer = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302
    return str(answer["Location"])


def set_up(client: Client) -> list[str]:
    page = client.get("/accounts/me/2fa/")
    assert page.status_code == 200
    assert b"<svg" in page.content
    secret = re.search(rb'id="totp-secret"[^>]*>([A-Z2-7]+)<', page.content).group(1)  # type: ignore[union-attr]
    device = TOTPDevice.objects.get(confirmed=False)
    import base64

    assert base64.b32encode(device.bin_key).rstrip(b"=") == secret
    done = client.post("/accounts/me/2fa/", {"code": code_for(device)})
    assert done.status_code == 200
    return re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())


@pytest.fixture
def with_2fa(operator: User, client_bob: Client) -> tuple[User, list[str]]:
    codes = set_up(client_bob)
    assert len(codes) == 10
    return operator, codes


def test_a_wrong_code_does_not_confirm_the_set_up(client_bob: Client) -> None:
    client_bob.get("/accounts/me/2fa/")
    answer = client_bob.post("/accounts/me/2fa/", {"code": "000000"})
    assert answer.status_code == 400
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_the_login_asks_for_the_code_after_the_password(with_2fa: tuple[User, list[str]]) -> None:
    user, _codes = with_2fa
    c = Client()
    assert _password(c) == "/accounts/login/code/"
    # the password alone logs nobody in
    assert c.get("/").status_code == 302
    assert c.get("/accounts/me/").status_code == 302
    device = TOTPDevice.objects.get(user=user)
    answer = c.post("/accounts/login/code/", {"code": code_for(device, 1)})
    assert answer.status_code == 302
    assert c.get("/").status_code == 200


def test_without_the_code_nobody_gets_in(with_2fa: tuple[User, list[str]]) -> None:
    c = Client()
    _password(c)
    assert c.post("/accounts/login/code/", {"code": ""}).status_code == 400
    assert c.post("/accounts/login/code/", {"code": "123456"}).status_code == 400
    assert c.get("/").status_code == 302


def test_a_recovery_code_works_once(with_2fa: tuple[User, list[str]]) -> None:
    _user, codes = with_2fa
    c = Client()
    _password(c)
    assert c.post("/accounts/login/code/", {"code": codes[0].upper()}).status_code == 302
    assert c.get("/").status_code == 200
    again = Client()
    _password(again)
    assert again.post("/accounts/login/code/", {"code": codes[0]}).status_code == 400
    assert again.get("/").status_code == 302
    assert StaticDevice.objects.get().token_set.count() == 9


def _wait_out_the_throttle() -> None:
    an_hour_ago = timezone.now() - timedelta(hours=1)
    TOTPDevice.objects.update(throttling_failure_timestamp=an_hour_ago)
    StaticDevice.objects.update(throttling_failure_timestamp=an_hour_ago)


def test_wrong_codes_are_throttled_then_the_login_starts_again(
    with_2fa: tuple[User, list[str]],
) -> None:
    user, _codes = with_2fa
    device = TOTPDevice.objects.get(user=user)
    c = Client()
    _password(c)
    assert c.post("/accounts/login/code/", {"code": "111111"}).status_code == 400
    # right after a wrong code, even the right one waits
    refused = c.post("/accounts/login/code/", {"code": code_for(device, 1)})
    assert refused.status_code == 400
    assert b"attendez quelques secondes" in refused.content
    for _ in range(3):
        _wait_out_the_throttle()
        c.post("/accounts/login/code/", {"code": "222222"})
    _wait_out_the_throttle()
    # the fifth wrong code: back to the password
    assert c.post("/accounts/login/code/", {"code": "333333"})["Location"] == "/accounts/login/"
    assert c.get("/accounts/login/code/")["Location"] == "/accounts/login/"


def test_required_sends_a_user_without_device_to_the_set_up(settings, operator: User) -> None:
    settings.SMSDESK_REQUIRE_2FA = True
    c = Client()
    _password(c)
    assert c.get("/")["Location"] == "/accounts/me/2fa/"
    assert c.get("/sms/sent/")["Location"] == "/accounts/me/2fa/"
    codes = set_up(c)
    assert len(codes) == 10
    assert c.get("/").status_code == 200
    # and from now on the login asks for the code
    assert _password(Client()) == "/accounts/login/code/"


def test_required_per_user(operator: User) -> None:
    services.set_require_2fa(user=operator, required=True)
    c = Client()
    _password(c)
    assert c.get("/")["Location"] == "/accounts/me/2fa/"


def test_api_tokens_work_without_a_code(settings, operator: User) -> None:
    settings.SMSDESK_REQUIRE_2FA = True
    _token, raw = services.create_token(user=operator)
    answer = Client().get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code == 200


def test_required_cannot_be_turned_off(
    settings, with_2fa: tuple[User, list[str]], client_bob: Client
) -> None:
    settings.SMSDESK_REQUIRE_2FA = True
    client_bob.post("/accounts/me/2fa/disable/")
    assert TOTPDevice.objects.filter(confirmed=True).exists()
    settings.SMSDESK_REQUIRE_2FA = False
    client_bob.post("/accounts/me/2fa/disable/")
    assert not TOTPDevice.objects.exists()
    assert _password(Client()) != "/accounts/login/code/"


def test_an_administrator_makes_it_compulsory_for_the_organisation(
    admin_user: User, operator: User
) -> None:
    from smsdesk.audit.models import Entry

    bob = Client()
    _password(bob)
    assert bob.post("/accounts/users/2fa/", {"require_2fa": "on"}).status_code == 403
    assert bob.get("/").status_code == 200
    alice = Client()
    alice.force_login(admin_user)
    assert alice.post("/accounts/users/2fa/", {"require_2fa": "on"}).status_code == 302
    assert bob.get("/")["Location"] == "/accounts/me/2fa/"
    assert Entry.objects.filter(action="settings", after={"require_2fa": True}).count() == 1
    # the administrator too: set up first, then she may turn it off again
    assert alice.post("/accounts/users/2fa/", {})["Location"] == "/accounts/me/2fa/"
    set_up(alice)
    assert alice.post("/accounts/users/2fa/", {})["Location"] == "/accounts/users/"
    assert bob.get("/").status_code == 200
