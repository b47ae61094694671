"""The Passerelles page (administrators): each gateway's state, and a test send."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from smsdesk.accounts.access import admin_required
from smsdesk.core import once, tenancy
from smsdesk.core.errors import ServiceError
from smsdesk.messaging import lines, sending
from smsdesk.worker import services

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


@admin_required
def gateways(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "worker/gateways.html",
        {
            "gateways": services.gateway_overview(org=tenancy.of_request(request)),
            "workers": services.worker_overview(org=tenancy.of_request(request)),
            "refresh_seconds": REFRESH_SECONDS,
            "form": TestSendForm(org=tenancy.of_request(request)),
        },
    )


@admin_required
def gateways_panel(request: HttpRequest) -> HttpResponse:
    """The states alone, for htmx to refresh the page every REFRESH_SECONDS."""
    return render(
        request,
        "worker/_gateway_states.html",
        {
            "gateways": services.gateway_overview(org=tenancy.of_request(request)),
            "workers": services.worker_overview(org=tenancy.of_request(request)),
            "refresh_seconds": REFRESH_SECONDS,
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
