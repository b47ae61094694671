from __future__ import annotations

import io
import sys

import pytest
from django.core.management import CommandError, call_command

from smsdesk.accounts import services
from smsdesk.accounts.models import ApiToken, User


@pytest.mark.django_db
def test_createuser_reads_the_password_from_stdin(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long passphrase 7\n"))
    call_command("createuser", "carol", "--admin", "--password-stdin", stdout=io.StringIO())
    carol = User.objects.get(username="carol")
    assert carol.is_admin and carol.check_password("a long passphrase 7")


@pytest.mark.django_db
def test_createuser_generates_and_prints_a_password() -> None:
    out = io.StringIO()
    call_command("createuser", "dave", stdout=out)
    password = out.getvalue().strip().splitlines()[-1].rsplit(" ", 1)[-1]
    dave = User.objects.get(username="dave")
    assert dave.role == User.Role.OPERATOR and dave.check_password(password)


@pytest.mark.django_db
def test_createuser_refuses_a_weak_password_and_stores_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError, match="8"):
        call_command("createuser", "erin", "--password-stdin", stdout=io.StringIO())
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.django_db
def test_createuser_refuses_a_taken_name(operator: User) -> None:
    with pytest.raises(CommandError, match="existe déjà"):
        call_command("createuser", "BOB", stdout=io.StringIO())


@pytest.mark.django_db
def test_createtoken_prints_the_token_alone_on_its_last_line(operator: User) -> None:
    out = io.StringIO()
    call_command("createtoken", "bob", stdout=out, stderr=io.StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("smsd_") and " " not in raw
    assert services.user_for_token(raw) == operator
    stored = ApiToken.objects.get()
    assert stored.digest != raw and raw not in stored.digest  # only the hash is kept


@pytest.mark.django_db
def test_createtoken_for_an_unknown_user_fails() -> None:
    with pytest.raises(CommandError, match="Aucun utilisateur"):
        call_command("createtoken", "nobody", stdout=io.StringIO(), stderr=io.StringIO())
