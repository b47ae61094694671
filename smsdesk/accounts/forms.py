from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from smsdesk.accounts.models import User
from smsdesk.core.forms import StyledForm

# The roles inside an organisation (the platform administrator is not one of them).
ROLE_CHOICES = [
    (r.value, r.label) for r in (User.Role.ADMIN, User.Role.OPERATOR, User.Role.READ_ONLY)
]


class LoginForm(AuthenticationForm):
    """The login form: a suspended organisation's users are told so (once their password is
    right: the message reveals nothing to someone guessing)."""

    def confirm_login_allowed(self, user) -> None:  # type: ignore[no-untyped-def]
        super().confirm_login_allowed(user)
        org = getattr(user, "organisation", None)
        if org is not None and not org.is_active:
            raise forms.ValidationError(
                _(
                    "The access of your organisation is suspended: contact your provider "
                    "to have it restored."
                ),
                code="organisation_suspended",
            )


class NewUserForm(StyledForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial="operator")
    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty: a password is generated and shown once."),
    )


class RoleForm(StyledForm):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class PasswordResetForm(StyledForm):
    password = forms.CharField(
        label=_("New password"),
        required=False,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty: a password is generated and shown once."),
    )


class OwnPasswordForm(StyledForm):
    old_password = forms.CharField(
        label=_("Current password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("Confirm the new password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        new, again = cleaned.get("new_password"), cleaned.get("new_password_again")
        if new is not None and again is not None and new != again:
            self.add_error(
                "new_password_again",
                _("The two new passwords differ: type the same one in both fields."),
            )
        return cleaned
