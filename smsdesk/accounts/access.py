"""Who may do what: the one place other apps ask, and the one way they refuse.

Administrators manage users, gateways, the contacts' custom fields and the STOP list by hand,
and may act on every message. Operators send, read every conversation (the inbox is shared)
and reply; they cancel or send again only the messages they wrote themselves.

Services call `require_admin` / `require_author_or_admin` with the acting user (`by`; None
from the command line, whose user administers the installation), which raise `NotAllowed`
(403 on the API and the pages); views of pages only administrators see are decorated with
`admin_required`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from smsdesk.core.errors import ServiceError


class NotAllowed(ServiceError):
    code = "forbidden"
    http_status = 403


def is_read_only(user: Any) -> bool:
    """A read-only account sees its organisation's data, sends nothing, changes nothing."""
    return bool(getattr(user, "is_read_only", False))


def is_platform(user: Any) -> bool:
    """The platform administrator (the provider): organisations, lines, their figures; no
    organisation's data unless entering one to help (recorded)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_platform", False))


def require_writer(by: Any, message: str) -> None:
    """`by` may change data (anyone but a read-only account; None, the command line, may)."""
    if is_read_only(by):
        raise NotAllowed(message)


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False))


def may_administer(by: Any) -> bool:
    """`by` a user, or None for the command line (it administers the server)."""
    return by is None or is_admin(by)


def may_act_on_message(user: Any, author_id: int | None) -> bool:
    """Cancel or send again: administrators any message, operators their own; the command
    line (None) any."""
    if may_administer(user):
        return True
    return author_id is not None and author_id == getattr(user, "id", None)


def require_admin(by: Any, message: str, *, error: type[ServiceError] = NotAllowed) -> None:
    if not may_administer(by):
        raise error(message)


def require_author_or_admin(by: Any, author_id: int | None, message: str) -> None:
    if not may_act_on_message(by, author_id):
        raise NotAllowed(message)


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view for administrators only: anyone else logged in gets 403 (login is required
    everywhere already, by LoginRequiredMiddleware)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
