from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from smsdesk.accounts.models import User
from smsdesk.core.forms import StyledForm


class NewUserForm(StyledForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices, initial="operator")
    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty: a password is generated and shown once."),
    )


class RoleForm(StyledForm):
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices)


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
