"""In the browser: a user sets up two-factor login on Mon compte (the QR code drawn on the
page, the secret read from it, the code computed here as an authenticator app would), logs
out, logs in with password then code; an administrator then reads these steps in the
Journal."""

from __future__ import annotations

import base64
import re
import time

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un mot de passe 42"


def totp(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for `secret` (base32, as the page gives it)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    t = TOTP(key, step=30, t0=0, digits=6)
    t.time = time.time() + 30 * steps_ahead
    return f"{t.token():06d}"


def log_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()


def test_set_up_two_factor_log_out_log_in_with_it_then_read_the_journal(page) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("alice", password=PASSWORD, role=User.Role.ADMIN)
    log_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/$"))

    page.goto(page.base + "/accounts/me/")
    page.locator("#two-factor-link").click()
    expect(page.get_by_role("heading", name="Connexion à deux facteurs")).to_be_visible()
    qr = page.locator("#qr svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] > 100  # type: ignore[index]
    secret = page.locator("#totp-secret").inner_text().strip()
    page.locator("#id_code").fill(totp(secret))
    shot(page, "two-factor-setup")
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#recovery-codes")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    expect(page.locator("#two-factor-on")).to_be_visible()

    # log out (a POST form of the menu)
    page.goto(page.base + "/accounts/me/")
    page.evaluate(
        "() => { const f = document.querySelector('form[action$=\"/accounts/logout/\"]');"
        " f.submit(); }"
    )
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    # the password alone is not enough
    log_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/accounts/login/code/$"))
    page.goto(page.base + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    log_in(page, "alice")
    page.get_by_label("Code de votre application d’authentification, ou code de secours").fill(
        "000000"
    )
    page.get_by_role("button", name="Connexion").click()
    expect(page.locator("#code-error")).to_be_visible()
    # wait out the throttle that wrong code started (1 s), then the app's next code
    time.sleep(1.2)
    page.locator("#id_code").fill(totp(secret, 1))
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/$"))

    # the Journal tells these steps, newest first
    page.get_by_role("link", name="Journal").click()
    expect(page.get_by_role("heading", name="Journal")).to_be_visible()
    rows = page.locator("#journal tbody tr")
    actions = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())]
    assert actions[:4] == [
        "Connexion",
        "Code à deux facteurs faux",
        "Connexion à deux facteurs activée",
        "Connexion",
    ], actions
    expect(page.locator("#journal")).to_contain_text("alice")
    shot(page, "journal")
