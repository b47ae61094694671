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
from smsdesk.core import once
from smsdesk.core.errors import ServiceError
from smsdesk.messaging import gateway_state, sending
from smsdesk.worker import services

REFRESH_SECONDS = 10


class TestSendForm(forms.Form):
    gateway = forms.ChoiceField(label=gettext_lazy("Gateway"))
    number = forms.CharField(label=gettext_lazy("Number"), max_length=30)
    text = forms.CharField(
        label=gettext_lazy("Text"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        names = [s.name for s in gateway_state.configured()]
        self.fields["gateway"].choices = [(n, n) for n in names]  # type: ignore[attr-defined]


@admin_required
def gateways(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "worker/gateways.html",
        {
            "gateways": services.gateway_overview(),
            "workers": services.worker_overview(),
            "refresh_seconds": REFRESH_SECONDS,
            "form": TestSendForm(),
        },
    )


@admin_required
def gateways_panel(request: HttpRequest) -> HttpResponse:
    """The states alone, for htmx to refresh the page every REFRESH_SECONDS."""
    return render(
        request,
        "worker/_gateway_states.html",
        {
            "gateways": services.gateway_overview(),
            "workers": services.worker_overview(),
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


@require_POST
@admin_required
def test_send(request: HttpRequest) -> HttpResponse:
    """A test SMS through this gateway, saved like any other (the worker sends it)."""
    form = TestSendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a gateway, a number and a text for the test SMS."))
        return redirect("worker:gateways")
    name = form.cleaned_data["gateway"]
    try:
        with transaction.atomic():
            once.claim(request)  # a second click sends no second test SMS
            sending.create_campaign(
                author=request.user,
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
