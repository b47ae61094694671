"""Login sessions that know their user, so that ending a user's sessions is one indexed DELETE.

Django's database sessions keep the user's id inside the encoded session data: finding one
user's sessions would mean decoding every row of the table. This engine is Django's database
engine with one more column, `user_id`, written from the session data at each save (Django's
documented extension point, "Extending database-backed session engines").

Why a column written by the store, rather than a table of keys filled at login or a per-user
salt in the session hash: the store writes the column on every save, so nothing that changes a
session's key (logging in, a password change, logging out) can leave it stale; and the rows
themselves are deleted, not only made unusable, so what ended is gone from the database at
once, and a list of a user's open sessions ("log out everywhere else") can read the same index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

if TYPE_CHECKING:
    from smsdesk.accounts.models import LoginSession


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls) -> type:
        from smsdesk.accounts.models import LoginSession

        return LoginSession

    def create_model_instance(self, data: dict[str, Any]) -> LoginSession:
        session = cast("LoginSession", super().create_model_instance(data))
        session.user_id = _user_id(data.get(SESSION_KEY))
        return session


def _user_id(value: object) -> int | None:
    """The logged-in user's id as login() stores it (a string), or None: nobody logged in."""
    try:
        return int(str(value))
    except ValueError:
        return None
