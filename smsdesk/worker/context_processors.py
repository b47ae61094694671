"""Tell every logged-in page when sending is stopped: no worker runs (saved SMS would
silently wait), or a gateway a worker drives cannot be reached (since when, and why); and
administrators, when a line is paused (by one of them, or by the watch: why)."""

from __future__ import annotations

from django.http import HttpRequest

from smsdesk.accounts.access import is_admin
from smsdesk.worker.services import down_gateways, paused_lines, running_workers


def worker_status(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    org = getattr(request, "organisation", None)
    if org is None:  # the platform administrator outside any organisation
        return {}
    workers = running_workers()
    status = {"worker_down": not workers, "gateways_down": down_gateways(workers, org=org)}
    if is_admin(request.user):  # a paused line waits for an administrator to resume it
        status["lines_paused"] = paused_lines(org=org)
    return status
