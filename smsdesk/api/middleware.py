"""The API's strictness, for every operation at once, from its own OpenAPI schema.

Before a view runs: a query parameter the operation does not declare is refused (400
`unknown_parameter`, naming it), a method the path does not offer answers 405 with `Allow`,
and a body in a media type the operation does not read answers 415, each in the JSON error
shape, in the language of Accept-Language (core.middleware.LanguageMiddleware). Unknown
fields of a JSON body are refused by the input schemas themselves (`extra="forbid"`,
api/schemas.StrictIn). Reading the schema, not ninja's internals, keeps one source: what the
schema says is what is enforced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

PREFIX = "/api/v1/"
OPEN = ("/api/v1/openapi.json", "/api/v1/docs")  # the schema and the docs: not operations
PARAM = re.compile(r"\{[^}/]+\}")


def error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "field": None, "message": message, **extra}, status=status)


class Route:
    def __init__(self, template: str, operations: dict[str, Any]) -> None:
        self.literal = PARAM.sub("", template).count("/")
        pattern = PARAM.split(template)
        self.regex = re.compile("^" + "[^/]+".join(re.escape(p) for p in pattern) + "$")
        self.queries: dict[str, set[str]] = {}
        self.deep: dict[str, re.Pattern[str] | None] = {}  # `name[key]` of deepObject params
        self.media: dict[str, set[str]] = {}
        for method, operation in operations.items():
            m = method.upper()
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            self.queries[m] = {p["name"] for p in query}
            deep = [re.escape(p["name"]) for p in query if p.get("style") == "deepObject"]
            self.deep[m] = re.compile(rf"^(?:{'|'.join(deep)})\[[^\[\]]*\]$") if deep else None
            body = operation.get("requestBody")
            self.media[m] = set(body.get("content", {})) if body else set()
        if "GET" in self.queries:
            self.queries.setdefault("HEAD", self.queries["GET"])
            self.deep.setdefault("HEAD", self.deep["GET"])


class StrictApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def routes(self) -> list[Route]:
        from smsdesk.api.endpoints import api

        schema = api.get_openapi_schema(path_prefix=PREFIX)
        routes = [Route(path, ops) for path, ops in schema["paths"].items()]
        # literal paths before templated ones (/contacts/export before /contacts/{id})
        return sorted(routes, key=lambda r: (-r.literal, -len(r.regex.pattern)))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(PREFIX) and not path.startswith(OPEN):
            refusal = self.check(request, path)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def check(self, request: HttpRequest, path: str) -> HttpResponse | None:
        route = next((r for r in self.routes if r.regex.match(path)), None)
        if route is None:
            return None  # the API's own JSON 404
        method = request.method or "GET"
        if method not in route.queries:
            allowed = ", ".join(sorted(m for m in route.queries if m != "HEAD"))
            response = error(
                405,
                "method_not_allowed",
                _("%(method)s is not allowed here; allowed: %(allowed)s.")
                % {"method": method[:10], "allowed": allowed},
            )
            response["Allow"] = allowed
            return response
        deep = route.deep.get(method)
        unknown = sorted(
            n for n in set(request.GET) - route.queries[method] if not (deep and deep.match(n))
        )
        if unknown:
            known = ", ".join(sorted(route.queries[method])) or _("none")
            return error(
                400,
                "unknown_parameter",
                _("Unknown query parameters: %(names)s (known: %(known)s).")
                % {"names": ", ".join(n[:40] for n in unknown[:10]), "known": known},
                detail=[{"field": n[:40], "reason": "unknown"} for n in unknown[:10]],
            )
        media = route.media[method]
        length = request.META.get("CONTENT_LENGTH") or "0"
        has_body = length not in ("", "0")
        if media and has_body:
            sent = request.content_type or ""
            if sent not in media:
                return error(
                    415,
                    "unsupported_media_type",
                    _("The body must be sent as %(media)s, not %(sent)s.")
                    % {"media": " or ".join(sorted(media)), "sent": sent[:60] or "-"},
                )
        return None
