"""Who may do what: the one place other apps ask.

Administrators manage users, gateways and removals from the STOP list, and may act on every
message. Operators send, read every conversation (the inbox is shared) and reply; they cancel
or send again only the messages they wrote themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False))


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view for administrators only: anyone else logged in gets 403 (login is required
    everywhere already, by LoginRequiredMiddleware)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def may_act_on_message(user: Any, author_id: int | None) -> bool:
    """Cancel or send again: administrators any message, operators their own."""
    if is_admin(user):
        return True
    return author_id is not None and author_id == getattr(user, "id", None)
