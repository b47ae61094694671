"""Per request, after the login is known: the user's language and time zone (kept on their
account, Mon compte), and the organisation of the request (`request.organisation`), in one place.

A member of staff works in their own organisation. The platform administrator (the
provider) belongs to none: outside the platform pages every address answers 404 for them,
unless they entered an organisation to help (`platform.enter`, recorded and shown to that
organisation's administrators). A suspended organisation's sessions are ended. A read-only
account may look at everything of its organisation and change nothing: any other method
than GET/HEAD answers 403, except on its own account pages and the log-out.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from smsdesk.accounts import visits
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
    # two-factor login and the mail settings are a person's own, whatever their organisation
    "accounts:two_factor",
    "accounts:two_factor_codes",
    "accounts:two_factor_disable",
    "accounts:email_settings",
    # the Journal: the platform administrator reads the platform's own acts there
    "accounts:journal",
    "accounts:journal_export",
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
                # A visit looks and changes nothing (but it may leave, or log out).
                if request.method not in ("GET", "HEAD", "OPTIONS") and name not in (
                    *ALWAYS_OPEN,
                    "platform:leave",
                ):
                    raise PermissionDenied
            elif name == "dashboard:home":  # where a login lands: the platform's home
                return redirect("platform:home")
            elif name and name not in ALWAYS_OPEN and name.split(":")[0] not in PLATFORM_OPEN:
                raise Http404
            return self.get_response(request)
        org = None
        if user.organisation_id is not None:
            # with the flag of an ongoing visit, so that the visit banner costs no query
            org = visits.organisation_with_visit_flag(user.organisation_id)
            if org is not None:
                user.organisation = org
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


class UserPreferencesMiddleware:
    """After the login is known: the user's own language and time zone, whatever browser
    they use. The language also goes into the cookie that core.middleware.LanguageMiddleware
    reads, so that the login page of that browser speaks it after a log-out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        zone = getattr(user, "time_zone", "") if user is not None else ""
        if language in self.languages:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        if zone:
            # a zone removed from the system since: the default one
            with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        if (
            language in self.languages
            and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language
            and settings.LANGUAGE_COOKIE_NAME not in response.cookies
        ):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        if language in self.languages:
            response.headers["Content-Language"] = language
        return response
