"""Tell every logged-in page when no worker runs: saved SMS would silently wait."""

from __future__ import annotations

from django.http import HttpRequest

from smsdesk.worker.services import running_workers


def worker_status(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"worker_down": not running_workers()}
