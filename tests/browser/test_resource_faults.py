"""A locked database and a disk running low, as a person sees them in the browser."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator

import pytest
from django.db import connection
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from tests.browser.conftest import shot


def log_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(name)
    page.get_by_label("Mot de passe").fill("un mot de passe 42")
    page.get_by_role("button", name="Connexion").click()


@pytest.fixture
def another_program_holds_the_database(transactional_db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A real second connection keeps the lock a New SMS needs, longer than SMSDESK_LOCK_WAIT."""
    if connection.vendor == "sqlite":
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        other = psycopg.connect(**connection.get_connection_params())
        other.execute("LOCK TABLE messaging_campaign IN ACCESS EXCLUSIVE MODE")
    yield
    other.rollback()
    other.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_a_locked_database_shows_a_plain_page_in_the_layout(
    page, width: int, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("claire", password="un mot de passe 42")
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, "claire")
    page.goto(page.base + "/sms/new/")
    page.locator("#id_text").fill("Réunion demain 9 h")
    page.locator("textarea[name=numbers], input[name=numbers]").first.fill("06 12 34 56 78")
    request.getfixturevalue("another_program_holds_the_database")
    with page.expect_response(lambda r: r.url.endswith("/sms/new/")) as answer:
        page.get_by_role("button", name="Enregistrer le SMS").click()
    assert answer.value.status == 503
    assert answer.value.headers["retry-after"] == "60"
    expect(page.locator("#error-page")).to_contain_text(
        "Le serveur ne peut pas enregistrer pour le moment ; rien n’a été perdu. "
        "Réessayez dans une minute."
    )
    expect(page.locator("#error-detail")).to_contain_text("occupée par une autre opération")
    shot(page, f"database-busy-{width}")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_administrators_see_the_disk_running_low(page, width: int, settings) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("alice", password="un mot de passe 42", role=User.Role.ADMIN)
    free_mb = shutil.disk_usage(settings.DATA_DIR).free // 2**20
    settings.SMSDESK_DISK_LOW_MB = free_mb + 1024
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, "alice")
    banner = page.locator("#disk-low")
    expect(banner).to_contain_text("Le disque du dossier des données")
    expect(banner).to_contain_text("Libérez de la place")
    shot(page, f"disk-low-{width}")
