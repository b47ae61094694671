"""Tell every logged-in page when sending is stopped: no worker runs (saved SMS would
silently wait), or a gateway a worker drives cannot be reached (since when, and why)."""

from __future__ import annotations

from django.http import HttpRequest

from smsdesk.worker.services import down_gateways, running_workers


def worker_status(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    org = getattr(request, "organisation", None)
    if org is None:  # the platform administrator outside any organisation
        return {}
    workers = running_workers()
    return {"worker_down": not workers, "gateways_down": down_gateways(workers, org=org)}
