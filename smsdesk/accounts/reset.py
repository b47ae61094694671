"""Forgotten passwords: Django's reset views, with our rules around them.

- The same answer whether the address is a user's or not (Django's view already redirects to
  "done" either way; the mail is queued in the outbox, so no timing tells either: nothing is
  sent during the request).
- Rate-limited per address asked and per client address (services.count_reset_request).
- The link is Django's token: it covers the password's hash and the last login, so it works
  once (the new password changes the hash), and for PASSWORD_RESET_TIMEOUT only.
- The mail is in the user's own language (Mon compte), plain text and HTML.
- A completed reset ends every session of the user and revokes their API tokens
  (services.password_set, as any new password does).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator

from smsdesk.accounts import services
from smsdesk.accounts.models import User
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action


class ResetRequestForm(auth_forms.PasswordResetForm):
    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user: User = context["user"]
        with translation.override(user.language or translation.get_language()):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )


@method_decorator(login_not_required, name="dispatch")
class RequestView(auth_views.PasswordResetView):
    form_class = ResetRequestForm
    template_name = "accounts/password_reset_form.html"
    subject_template_name = "mail/password_reset_subject.txt"
    email_template_name = "mail/password_reset.txt"
    html_email_template_name = "mail/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: auth_forms.PasswordResetForm) -> HttpResponse:
        try:
            services.count_reset_request(
                email=form.cleaned_data["email"], ip=self.request.META.get("REMOTE_ADDR", "")
            )
        except services.TooManyResets as e:
            form.add_error("email", str(e.message))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


@method_decorator(login_not_required, name="dispatch")
class DoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "timeout_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        }


@method_decorator(login_not_required, name="dispatch")
class ConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: auth_forms.SetPasswordForm) -> HttpResponse:  # type: ignore[type-arg]
        response = super().form_valid(form)
        services.password_set(form.user)  # every session of the user ends, tokens too
        audit.record(Action.PASSWORD_RESET, form.user, actor=form.user, after={"by": "email"})
        return response


@method_decorator(login_not_required, name="dispatch")
class CompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
