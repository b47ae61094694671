"""The Passerelles page (administrators): each gateway's state, and a test send."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from smsdesk.accounts.access import admin_required
from smsdesk.core import once, tenancy
from smsdesk.core.errors import ServiceError
from smsdesk.gateways.http import BadCallback, CallbackRequest, ForgedCallback
from smsdesk.messaging import lines, routing, sending
from smsdesk.sms.routing import PERIODS, Period
from smsdesk.worker import callbacks, services

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10


class TestSendForm(forms.Form):
    gateway = forms.ChoiceField(label=gettext_lazy("Gateway"))
    number = forms.CharField(label=gettext_lazy("Number"), max_length=30)
    text = forms.CharField(
        label=gettext_lazy("Text"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: object, org: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        names = lines.lines_of(tenancy.resolve(org))  # the organisation's own lines
        self.fields["gateway"].choices = [(n, n) for n in names]  # type: ignore[attr-defined]


def _with_callback_urls(request: HttpRequest) -> list:
    """The lines, each with the URL its provider calls back (to paste in its console)."""
    states = services.gateway_overview(org=tenancy.of_request(request))
    for g in states:
        g.callback_url = (  # type: ignore[attr-defined]
            request.build_absolute_uri(
                reverse(
                    "worker:callback",
                    kwargs={"line": g.name, "secret": callbacks.secret_for(g.name)},
                )
            )
            if callbacks.takes_callbacks(g.name)
            else ""
        )
    return states


@admin_required
def gateways(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "worker/gateways.html",
        {
            "gateways": _with_callback_urls(request),
            "workers": services.worker_overview(org=tenancy.of_request(request)),
            "refresh_seconds": REFRESH_SECONDS,
            "form": TestSendForm(org=tenancy.of_request(request)),
            "limit_fields": limit_fields(),
        },
    )


def limit_fields() -> list[tuple[str, str]]:
    labels = {
        Period.MINUTE: _("Limit a minute"),
        Period.HOUR: _("Limit an hour"),
        Period.DAY: _("Limit a day"),
        Period.MONTH: _("Limit a month"),
    }
    return [(p.value, labels[p]) for p in PERIODS]


@admin_required
def gateways_panel(request: HttpRequest) -> HttpResponse:
    """The states alone, for htmx to refresh the page every REFRESH_SECONDS."""
    return render(
        request,
        "worker/_gateway_states.html",
        {
            "gateways": _with_callback_urls(request),
            "workers": services.worker_overview(org=tenancy.of_request(request)),
            "refresh_seconds": REFRESH_SECONDS,
            "limit_fields": limit_fields(),
        },
    )


@require_POST
@admin_required
def test_send(request: HttpRequest) -> HttpResponse:
    """A test SMS through this gateway, saved like any other (the worker sends it)."""
    form = TestSendForm(request.POST, org=tenancy.of_request(request))
    if not form.is_valid():
        messages.error(request, _("Give a gateway, a number and a text for the test SMS."))
        return redirect("worker:gateways")
    name = form.cleaned_data["gateway"]
    try:
        with transaction.atomic():
            once.claim(request)  # a second click sends no second test SMS
            sending.create_campaign(
                author=request.user,
                org=tenancy.of_request(request),
                body=form.cleaned_data["text"],
                to=[form.cleaned_data["number"]],
                gateway=name,
            )
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            _("Test SMS saved: the gateway %(name)s sends it (see Sent SMS).") % {"name": name},
        )
    return redirect("worker:gateways")


# A line's name comes from SMSDESK_GATEWAYS (letters, digits, - and _): the services refuse
# any other as an unknown line.


@require_POST
@admin_required
def line_pause(request: HttpRequest, name: str) -> HttpResponse:
    org = tenancy.of_request(request)
    return _line_action(
        request,
        lambda: routing.pause(name, by=request.user, org=org),
        _("Line %(name)s paused: it sends nothing until resumed."),
        name,
    )


@require_POST
@admin_required
def line_resume(request: HttpRequest, name: str) -> HttpResponse:
    org = tenancy.of_request(request)
    return _line_action(
        request,
        lambda: routing.resume(name, by=request.user, org=org),
        _("Line %(name)s resumed."),
        name,
    )


@require_POST
@admin_required
def line_reset(request: HttpRequest, name: str) -> HttpResponse:
    org = tenancy.of_request(request)
    return _line_action(
        request,
        lambda: routing.reset(name, by=request.user, org=org),
        _("Line %(name)s follows its configuration again."),
        name,
    )


class RoutingForm(forms.Form):
    priority = forms.IntegerField(min_value=-1000, max_value=1000)
    failover = forms.BooleanField(required=False)
    limit_minute = forms.IntegerField(required=False, min_value=1, max_value=routing.LIMIT_MAX)
    limit_hour = forms.IntegerField(required=False, min_value=1, max_value=routing.LIMIT_MAX)
    limit_day = forms.IntegerField(required=False, min_value=1, max_value=routing.LIMIT_MAX)
    limit_month = forms.IntegerField(required=False, min_value=1, max_value=routing.LIMIT_MAX)


@require_POST
@admin_required
def line_routing(request: HttpRequest, name: str) -> HttpResponse:
    org = tenancy.of_request(request)
    form = RoutingForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _(
                "The priority is a whole number from -1000 to 1000; a limit a number of SMS "
                "parts from 1, or empty for none."
            ),
        )
        return redirect("worker:gateways")
    data = form.cleaned_data
    return _line_action(
        request,
        lambda: routing.change(
            name,
            by=request.user,
            priority=data["priority"],
            failover=data["failover"],
            limits={p: data[f"limit_{p.value}"] for p in PERIODS},
            org=org,
        ),
        _("Routing of line %(name)s saved."),
        name,
    )


def _line_action(
    request: HttpRequest, act: Callable[[], object], done: str, name: str
) -> HttpResponse:
    try:
        act()
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, done % {"name": name})
    return redirect("worker:gateways")


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, line: str, secret: str) -> HttpResponse:
    """A provider tells us of a received SMS or a delivery state (worker/callbacks.py)."""
    where = request.META.get("REMOTE_ADDR", "?")
    gateway = callbacks.callback_gateway(line)
    if gateway is None:
        return HttpResponse(status=404)
    if not callbacks.secret_matches(line, secret):
        log.warning("callback for line %s refused: wrong secret in the URL (from %s)", line, where)
        return HttpResponse(status=403)
    call = CallbackRequest(
        method=request.method or "GET",
        url=request.build_absolute_uri(),
        headers={k.lower(): v for k, v in request.headers.items()},
        query={k: request.GET[k] for k in request.GET},
        body=request.body,
        content_type=request.content_type or "",
        now=time.time(),
    )
    try:
        items = gateway.callback(call)  # type: ignore[attr-defined]
    except ForgedCallback as e:
        log.warning("callback for line %s refused as forged (%s), from %s", line, e, where)
        return HttpResponse(status=403)
    except BadCallback as e:
        log.warning("callback for line %s not understood (%s), from %s", line, e, where)
        return HttpResponse(status=400)
    callbacks.record(line, items)
    content_type, body = gateway.callback_answer  # type: ignore[attr-defined]
    return HttpResponse(body, content_type=content_type)
