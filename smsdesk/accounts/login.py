"""The login: the password, then (for a user with two-factor login) a code.

After the right password a user with a device is NOT logged in: their id waits in the
anonymous session for `PENDING_SECONDS`, and the code page logs them in (Django's `login`,
which changes the session's key, then django-otp's, which marks the session verified).
`MAX_TRIES` wrong codes send them back to the password. A user who must use two-factor
login and has no device yet is logged in, then kept on the set-up page
(`TwoFactorRequiredMiddleware`) until it is done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import django_otp
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from smsdesk.accounts import twofactor
from smsdesk.accounts.forms import LoginForm
from smsdesk.accounts.models import User
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action

log = logging.getLogger("smsdesk.accounts")

PENDING = "smsdesk_2fa_pending"
PENDING_SECONDS = 300


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    authentication_form = LoginForm  # a suspended organisation's users are told so

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if twofactor.enabled(user):
            self.request.session[PENDING] = {
                "id": user.pk,
                "backend": getattr(user, "backend", ""),
                "at": time.time(),
                "next": self.get_success_url(),
                "tries": 0,
            }
            return redirect("accounts:login_code")
        return super().form_valid(form)


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=pending.get("id"), is_active=True).first()
    return (user, pending) if user is not None else None


@login_not_required
def login_code(request: HttpRequest) -> HttpResponse:
    found = _pending(request)
    if found is None:
        request.session.pop(PENDING, None)
        return redirect("accounts:login")
    user, pending = found
    error = ""
    if request.method == "POST":
        if twofactor.throttled(user):
            error = _("Too many wrong codes: wait a few seconds, then type the current code.")
        else:
            device = twofactor.verify(user, request.POST.get("code", ""))
            if device is not None:
                del request.session[PENDING]
                auth_login(request, user, backend=pending["backend"] or None)
                django_otp.login(request, device)
                after = _after_login(request, pending.get("next", ""))
                return redirect(after)
            pending["tries"] = pending.get("tries", 0) + 1
            audit.record(Action.LOGIN_CODE_FAILED, user, actor=user)
            log.warning(
                "wrong two-factor code for user name %r from %s",
                user.get_username(),
                request.META.get("REMOTE_ADDR", "?"),
            )
            if pending["tries"] >= twofactor.MAX_TRIES:
                del request.session[PENDING]
                messages.error(request, _("Too many wrong codes: log in again."))
                return redirect("accounts:login")
            request.session[PENDING] = pending
            error = _(
                "This code is not right. Type the code your app shows now, or a recovery code."
            )
    return render(
        request, "accounts/login_code.html", {"error": error}, status=400 if error else 200
    )


def _after_login(request: HttpRequest, wanted: str) -> str:
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("dashboard:home")


class TwoFactorRequiredMiddleware:
    """A user who must use two-factor login and has no device yet opens nothing but the
    set-up page (and logging out, the language switch) until it is done. The API is not
    concerned: its tokens never need a code."""

    ALLOWED = ("/accounts/me/2fa/", "/accounts/logout/", "/i18n/", "/static/", "/api/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self.ALLOWED)
            and twofactor.required(user)
            and not twofactor.enabled(user)
        ):
            return redirect("accounts:two_factor")
        return self.get_response(request)
