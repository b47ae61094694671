"""The organisation of each request (`request.organisation`), in one place.

A member of staff works in their own organisation. The platform administrator (the
provider) belongs to none: outside the platform pages every address answers 404 for them,
unless they entered an organisation to help (`platform.enter`, recorded and shown to that
organisation's administrators). A suspended organisation's sessions are ended. A read-only
account may look at everything of its organisation and change nothing: any other method
than GET/HEAD answers 403, except on its own account pages and the log-out.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from smsdesk.accounts.models import Organisation

ENTERED = "platform_entered_org"  # session key: the organisation a platform admin entered
VISIT = "platform_visit"  # session key: the id of that visit (OrganisationVisit)

# Namespaces a platform administrator outside any organisation may use.
PLATFORM_OPEN = {"platform"}
# url names anyone may use whatever their organisation or role.
ALWAYS_OPEN = {
    "accounts:login",
    "accounts:logout",
    "accounts:profile",
    "accounts:notifications",
    "accounts:change_password",
    "set_language",
}


def _view_name(request: HttpRequest) -> str:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


class OrganisationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organisation = None  # type: ignore[attr-defined]
        request.visiting = False  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path_info.startswith("/api/"):
            return self.get_response(request)
        name = _view_name(request)
        if user.is_platform:
            entered = request.session.get(ENTERED)
            org = Organisation.objects.filter(pk=entered).first() if entered else None
            if org is not None:
                request.organisation = org  # type: ignore[attr-defined]
                request.visiting = True  # type: ignore[attr-defined]
            elif name == "dashboard:home":  # where a login lands: the platform's home
                return redirect("platform:home")
            elif name and name not in ALWAYS_OPEN and name.split(":")[0] not in PLATFORM_OPEN:
                raise Http404
            return self.get_response(request)
        org = user.organisation
        if org is None or not org.is_active:
            logout(request)
            return redirect("accounts:login")
        request.organisation = org  # type: ignore[attr-defined]
        if name.startswith("platform:"):
            raise Http404
        if (
            user.is_read_only
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and name not in ALWAYS_OPEN
        ):
            raise PermissionDenied
        return self.get_response(request)
