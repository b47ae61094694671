"""The platform administrator's pages (/platform/): the organisations and their figures."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smsdesk.tenants import organisations


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/home.html", {"organisations": organisations.organisations()})
