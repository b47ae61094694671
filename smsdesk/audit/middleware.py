"""Who and from where, for the audit entries a request writes (audit.services.bind)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from smsdesk.audit import context


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        api = request.path_info.startswith("/api/")
        with context.bound(
            actor=user if user is not None and user.is_authenticated else None,
            via=context.API if api else context.WEB,
            ip=request.META.get("REMOTE_ADDR", ""),
            token="",
        ):
            return self.get_response(request)
