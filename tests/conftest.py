from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smsdesk.accounts.models import User


@pytest.fixture
def admin_user(db) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user("alice", password="correct horse 42", role=User.Role.ADMIN)


@pytest.fixture
def operator(db) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user("bob", password="correct horse 42")


@pytest.fixture
def client_bob(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def in_a_month() -> datetime:
    """A sending time well inside the bound (SMSDESK_MAX_SCHEDULE_DAYS), local time."""
    return timezone.localtime() + timedelta(days=30)
