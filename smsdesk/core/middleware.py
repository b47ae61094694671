"""Request-wide behaviour of the web interface."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_cache_control


class LanguageMiddleware:
    """French, the manual's wording, unless the user picked another language with the switch.

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is not followed: office
    PCs often run an English browser, and staff must see the screens the manual describes.
    The switch (Django's set_language view) keeps the choice in a cookie.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if code not in self.languages:
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = code
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", code)
        return response


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
