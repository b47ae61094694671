"""The real site plus /test-slow/, which answers after 3 s: a stop can land in the middle."""

import time

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_not_required
def slow(request: HttpRequest) -> HttpResponse:
    time.sleep(3)
    return HttpResponse("answered in full")


urlpatterns = [path("test-slow/", slow), path("", include("smsdesk.urls"))]
