"""Request-wide behaviour of the web interface."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from smsdesk.core import bounds

# Under this path every answer is JSON in the API's error shape, errors included.
API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class LanguageMiddleware:
    """French, the manual's wording, unless the user picked another language with the switch.

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is not followed: office
    PCs often run an English browser, and staff must see the screens the manual describes.
    The switch (Django's set_language view) keeps the choice in a cookie. The API is the
    exception: a program asks for its language with Accept-Language (French when it names
    none we have), and its error messages come in it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if is_api(request):
            code = self._accepted(request.headers.get("Accept-Language", ""))
        if code not in self.languages:
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = code
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", code)
        return response

    def _accepted(self, header: str) -> str:
        for lang, _q in parse_accept_lang_header(header[:200]):
            base = lang.split("-")[0].lower()
            if base in self.languages:
                return base
        return settings.LANGUAGE_CODE


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every page and API answer: they show messages, numbers
    or a new token, which must not stay in a browser's or a proxy's cache after log-out.
    (Static files are served before this, by WhiteNoise, and stay cacheable.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response.headers:
            patch_cache_control(response, no_store=True, private=True)
        return response


class QueryControlsMiddleware:
    """A control character in a query parameter (`?q=%00`) is refused here, for every page
    and API call at once, naming the parameter: 400 with the error page, or the JSON error
    under /api/. (A NUL reaching PostgreSQL failed the request with a 500.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = bounds.control_in_query(request)
        if refusal is None:
            return self.get_response(request)
        if is_api(request):
            return JsonResponse(refusal.as_dict(), status=400)
        context = {"error_title": _("Bad request"), "error_text": refusal.message}
        return render(request, "core/error.html", context, status=400)
