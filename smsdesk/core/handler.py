"""The WSGI handler: a program's API request takes the API's own middleware chain.

A request under `/api/` that carries `Authorization: Bearer …` and no session cookie is a
program's: the token decides who it is (api/endpoints.TokenAuth), so the middleware that
serves pages — sessions, CSRF, the login from the session, two-factor, the flash messages,
the login lockout (axes), the static files, the ops endpoints — has nothing to do for it.
It goes through `settings.API_MIDDLEWARE` instead: every other middleware of MIDDLEWARE,
in the same order (the request id, the request memo, the trusted proxies, the security
headers, the request metrics, the language from Accept-Language, the audit's context, the
API's strictness and idempotency, the organisation, CSP, no-store), so that a middleware
added later is on both paths unless it is named page-only. Its `request.user` is the
anonymous user, as it is for a session-less request on the full chain, until the token
says otherwise. Every other request (pages, a browser calling the API with its session,
the docs without a token) takes MIDDLEWARE whole. (Issue 19: Django's middleware is part
of the CPU of each single-message send.)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase

API_PREFIX = "/api/"


def is_program_request(request: HttpRequest) -> bool:
    """An API request authenticated by its bearer token alone (no session cookie)."""
    return (
        request.path_info.startswith(API_PREFIX)
        and request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


class _ApiChain(BaseHandler):
    """A handler whose middleware is settings.API_MIDDLEWARE (loaded once)."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE: shown API_MIDDLEWARE while it builds the
        # chain, once, when the process starts (before any request is served).
        saved = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = saved


class LeanApiDispatch:
    """Mixed into a Django handler (WSGIHandler, the test client's): program requests go
    through the API's chain, the others through the handler's own."""

    _api_chain: _ApiChain | None = None
    _anonymous: Any = None

    def load_middleware(self, is_async: bool = False) -> None:
        from django.contrib.auth.models import AnonymousUser  # once the apps are loaded

        super().load_middleware(is_async)  # type: ignore[misc]
        chain = _ApiChain()
        chain.load_middleware(is_async)
        self._api_chain = chain
        self._anonymous = AnonymousUser

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        chain = self._api_chain
        if chain is None or not is_program_request(request):
            response: HttpResponseBase = super().get_response(request)  # type: ignore[misc]
            return response
        request.user = self._anonymous()
        return chain.get_response(request)


class SmsdeskWSGIHandler(LeanApiDispatch, WSGIHandler):
    """smsdesk.wsgi's application (`smsdesk web`, or a server of one's own)."""
