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
