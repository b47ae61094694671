from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smsdesk.dashboard import services


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html", services.figures(org=request.organisation))
