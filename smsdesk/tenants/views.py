"""The platform administrator's pages (/platform/): the organisations with their figures,
and what the provider does to them (create, suspend, resume, give a line, create the first
administrator). Only a platform administrator reaches them (accounts.middleware: 404 for
anyone else)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smsdesk.accounts import access, visits
from smsdesk.accounts import services as accounts
from smsdesk.accounts.middleware import ENTERED, VISIT
from smsdesk.accounts.models import User
from smsdesk.core.errors import ServiceError
from smsdesk.messaging import gateway_state
from smsdesk.tenants import organisations
from smsdesk.tenants.organisations import retention_text


def _platform_only(request: HttpRequest) -> None:
    if not access.is_platform(request.user):
        raise Http404


def home(request: HttpRequest) -> HttpResponse:
    _platform_only(request)
    return render(
        request,
        "tenants/home.html",
        {
            "rows": organisations.overview(),
            "lines": [s.name for s in gateway_state.configured()],
        },
    )


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    _platform_only(request)
    try:
        org = organisations.create_organisation(
            name=request.POST.get("name", "")[:200], slug=request.POST.get("slug", "")[:60]
        )
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Organisation “%(name)s” created.") % {"name": org.name})
    return redirect("platform:home")


def _org(request: HttpRequest, slug: str):  # type: ignore[no-untyped-def]
    _platform_only(request)
    try:
        return organisations.get_organisation(slug)
    except ServiceError:
        raise Http404 from None


@require_POST
def suspend(request: HttpRequest, slug: str) -> HttpResponse:
    org = organisations.set_active(_org(request, slug), active=False)
    messages.success(request, _("%(slug)s is suspended.") % {"slug": org.slug})
    return redirect("platform:home")


@require_POST
def resume(request: HttpRequest, slug: str) -> HttpResponse:
    org = organisations.set_active(_org(request, slug), active=True)
    messages.success(request, _("%(slug)s is active.") % {"slug": org.slug})
    return redirect("platform:home")


@require_POST
def assign_line(request: HttpRequest, slug: str) -> HttpResponse:
    org = _org(request, slug)
    line = request.POST.get("line", "")[:60]
    share = bool(request.POST.get("share"))
    sender = request.POST.get("sender", "")[:100]
    return _apply(
        request,
        lambda: organisations.assign_line(org, line, share=share, sender=sender),
        lambda: (
            _("The line %(line)s is shared; %(slug)s sends with %(sender)s.")
            % {"line": line, "slug": org.slug, "sender": sender}
            if share
            else _("The line %(line)s belongs to %(slug)s.") % {"line": line, "slug": org.slug}
        ),
    )


@require_POST
def create_admin(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's first administrator; the password generated is shown once."""
    org = _org(request, slug)
    password = accounts.generate_password()
    try:
        with transaction.atomic():
            user = accounts.create_user(
                username=request.POST.get("username", "")[:200],
                password=password,
                role=User.Role.ADMIN,
                org=org,
            )
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("platform:home")
    messages.success(
        request,
        _("Administrator “%(name)s” of %(slug)s created; password (shown once): %(password)s")
        % {"name": user.username, "slug": org.slug, "password": password},
    )
    return redirect("platform:home")


def _apply(
    request: HttpRequest, change: Callable[[], object], done: Callable[[], str]
) -> HttpResponse:
    """Run one of the organisation's settings forms: `change` calls the service (which
    raises a ServiceError, or several in `errors`, on a wrong value); each error is shown,
    else `done()` says what is now set; back to the platform home either way."""
    try:
        change()
    except ServiceError as e:
        for err in getattr(e, "errors", [e]):
            messages.error(request, err.message)
    else:
        messages.success(request, done())
    return redirect("platform:home")


@require_POST
def quota(request: HttpRequest, slug: str) -> HttpResponse:
    """The SMS parts the organisation may send per day and per month, the recipients per
    day (0: no limit)."""
    org = _org(request, slug)
    return _apply(
        request,
        lambda: organisations.set_quota(
            org,
            per_day=request.POST.get("per_day", "")[:20],
            per_month=request.POST.get("per_month", "")[:20],
            recipients_per_day=request.POST.get("recipients_per_day", "")[:20],
        ),
        lambda: (
            _(
                "Quotas of %(slug)s: %(day)s a day, %(month)s a month; "
                "recipients per day: %(recipients)s."
            )
            % {
                "slug": org.slug,
                "day": org.quota_day or _("no limit"),
                "month": org.quota_month or _("no limit"),
                "recipients": org.recipients_day or _("no limit"),
            }
        ),
    )


@require_POST
def retention(request: HttpRequest, slug: str) -> HttpResponse:
    """How long the organisation's messages, calls and audit entries are kept (0: the
    platform's), and whether they are then deleted or masked."""
    org = _org(request, slug)
    return _apply(
        request,
        lambda: organisations.set_retention(
            org,
            months=request.POST.get("retention_months", "")[:20],
            mode=request.POST.get("retention_mode", "")[:20],
        ),
        lambda: (
            _("Retention of %(slug)s: %(months)s, then %(mode)s.")
            % {
                "slug": org.slug,
                "months": retention_text(org),
                "mode": org.get_retention_mode_display(),
            }
        ),
    )


@require_POST
def enter(request: HttpRequest, slug: str) -> HttpResponse:
    """Enter an organisation's space to help: it is recorded and shown to its
    administrators; inside, the platform administrator sees and changes nothing."""
    org = _org(request, slug)
    try:
        visit = visits.enter(org, by=request.user, address=request.META.get("REMOTE_ADDR"))
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("platform:home")
    request.session[ENTERED] = org.pk
    request.session[VISIT] = visit.pk
    return redirect("dashboard:home")


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    if not access.is_platform(request.user):
        raise Http404
    visits.leave(request.session.pop(VISIT, None))
    request.session.pop(ENTERED, None)
    return redirect("platform:home")
