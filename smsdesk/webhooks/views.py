"""Administration › Webhooks: the endpoints, one endpoint's deliveries and tries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smsdesk.accounts.access import admin_required
from smsdesk.core import once, tenancy
from smsdesk.core.errors import ServiceError
from smsdesk.webhooks import services
from smsdesk.webhooks.models import EventType


def _list(
    request: HttpRequest,
    *,
    status: int = 200,
    errors: dict | None = None,
    posted: dict | None = None,
) -> HttpResponse:
    return render(
        request,
        "webhooks/list.html",
        {
            "endpoints": services.endpoints(by=request.user, org=tenancy.of_request(request)),
            "event_types": EventType.choices,
            "errors": errors or {},
            "posted": posted or {"events": []},
        },
        status=status,
    )


@admin_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    return _list(request)


@require_POST
@admin_required
def create(request: HttpRequest) -> HttpResponse:
    posted: dict[str, Any] = {
        "url": request.POST.get("url", "")[:2000],
        "description": request.POST.get("description", "")[:200],
        "events": request.POST.getlist("events")[:20],
    }
    try:
        with transaction.atomic():
            once.claim(request)
            endpoint, secret = services.create_endpoint(
                by=request.user, org=tenancy.of_request(request), **posted
            )
    except ServiceError as e:
        errors = {err.field or "": err.message for err in getattr(e, "errors", [e])}
        return _list(request, status=400, errors=errors, posted=posted)
    once.done(request)
    return _detail(request, endpoint.id, secret=secret)  # shown in this answer only


def _detail(request: HttpRequest, endpoint_id: int, *, secret: str = "") -> HttpResponse:
    endpoint = services.get_endpoint(
        by=request.user, org=tenancy.of_request(request), endpoint_id=endpoint_id
    )
    return render(
        request,
        "webhooks/detail.html",
        {
            "endpoint": endpoint,
            "secret": secret,
            "deliveries": services.deliveries(endpoint),
            "event_labels": dict(EventType.choices),
        },
    )


@admin_required
def detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    try:
        return _detail(request, endpoint_id)
    except services.NotFound:
        return render(request, "404.html", status=404)


@require_POST
@admin_required
def toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    enable = request.POST.get("enabled") == "1"
    try:
        services.set_enabled(
            by=request.user,
            org=tenancy.of_request(request),
            endpoint_id=endpoint_id,
            enabled=enable,
        )
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("webhooks:list")
    messages.success(
        request, _("The endpoint is enabled.") if enable else _("The endpoint is disabled.")
    )
    return redirect("webhooks:detail", endpoint_id=endpoint_id)


@admin_required
def delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    try:
        endpoint = services.get_endpoint(
            by=request.user, org=tenancy.of_request(request), endpoint_id=endpoint_id
        )
    except services.NotFound:
        return render(request, "404.html", status=404)
    if request.method != "POST":
        return render(
            request,
            "core/confirm.html",
            {
                "title": _("Delete an endpoint"),
                "question": _("Delete the endpoint %(url)s?") % {"url": endpoint.url},
                "detail": _("What waits for it is not sent. This cannot be undone."),
                "button": _("Delete"),
                "danger": True,
                "action": request.path,
                "back": reverse("webhooks:detail", args=[endpoint_id]),
            },
        )
    services.delete_endpoint(
        by=request.user, org=tenancy.of_request(request), endpoint_id=endpoint_id
    )
    messages.success(request, _("The endpoint was deleted."))
    return redirect("webhooks:list")


@require_POST
@admin_required
def send_again(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    try:
        services.send_again(
            by=request.user,
            org=tenancy.of_request(request),
            endpoint_id=endpoint_id,
            delivery_id=delivery_id,
        )
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("It will be sent again within seconds."))
    return redirect("webhooks:detail", endpoint_id=endpoint_id)
