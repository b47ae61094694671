from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import i18n
from django.views.decorators.http import require_POST

from smsdesk.accounts import services, twofactor, visits
from smsdesk.accounts.access import admin_required
from smsdesk.accounts.forms import NewUserForm, OwnPasswordForm, PasswordResetForm, RoleForm
from smsdesk.accounts.models import User
from smsdesk.core import hooks, once
from smsdesk.core.errors import ServiceError
from smsdesk.core.forms import add_service_error
from smsdesk.core.lists import Order, paginate

# A secret (a new API token, a generated password) is shown in the answer to the form that
# made it, never carried to the next page through the session: it would sit readable in the
# session table until then. The page's script then sets the address to the page's own URL
# (accounts/shown_once.js), so that a reload shows the page without the secret and posts
# nothing again.


# --- my account -----------------------------------------------------------------------------
def profile(
    request: HttpRequest,
    password_form: OwnPasswordForm | None = None,
    status: int = 200,
    new_token: str = "",
) -> HttpResponse:
    return render(
        request,
        "accounts/profile.html",
        {
            "tokens": request.user.api_tokens.select_related("organisation"),
            "new_token": new_token,
            "password_form": password_form or OwnPasswordForm(),
            "time_zones": services.time_zones(),
            "default_time_zone": settings.TIME_ZONE,
            "two_factor_on": twofactor.enabled(request.user),
            "email_copies_choices": User.EmailCopies.choices,
        },
        status=400 if status == 200 and password_form and password_form.errors else status,
    )


@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    try:
        with transaction.atomic():
            once.claim(request)
            _token, raw = services.create_token(
                user=request.user,
                name=request.POST.get("name", "")[:100],
                recipients_per_day=request.POST.get("recipients_per_day", "")[:20],
            )
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("accounts:profile")
    once.done(request)
    return profile(request, new_token=raw)  # shown in this answer only


def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens, id=token_id)
    if request.method != "POST":
        return _confirm(
            request,
            title=_("Revoke a token"),
            question=_("Revoke the token “%(name)s” (%(prefix)s…)?")
            % {"name": token.name or "—", "prefix": token.prefix},
            detail=_("Programs that use it lose access at once. This cannot be undone."),
            button=_("Revoke"),
            back=reverse("accounts:profile"),
        )
    if services.revoke_token(user=request.user, token_id=token_id):
        messages.success(request, _("The token was revoked: it no longer gives access."))
    return redirect("accounts:profile")


@require_POST
def notifications(request: HttpRequest) -> HttpResponse:
    # two checkboxes: present means on, absent means off; nothing else to validate
    services.set_notifications(
        user=request.user,
        inbound="notify_inbound" in request.POST,
        sound="notify_sound" in request.POST,
    )
    messages.success(request, _("Your notification settings are saved."))
    return redirect("accounts:profile")


@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    """Language and time zone, kept on the account (every browser shows the same)."""
    try:
        services.set_preferences(
            user=request.user,
            language=request.POST.get("language", "")[:8],
            time_zone=request.POST.get("time_zone", "")[:64],
        )
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        translation.activate(request.user.language or settings.LANGUAGE_CODE)
        messages.success(request, _("Your language and time zone are saved."))
    response = redirect("accounts:profile")
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        request.user.language or settings.LANGUAGE_CODE,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@require_POST
def signature(request: HttpRequest) -> HttpResponse:
    """The line put under each New SMS and reply the user writes."""
    try:
        services.set_signature(user=request.user, signature=request.POST.get("signature", "")[:500])
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Your signature is saved."))
    return redirect("accounts:profile")


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switch (Django's set_language), kept on the account of a logged-in user,
    so that it follows them to another browser."""
    response = i18n.set_language(request)
    code = request.POST.get("language", "")
    if request.user.is_authenticated and code in dict(settings.LANGUAGES):
        services.set_preferences(user=request.user, language=code)
    return response


def change_password(request: HttpRequest) -> HttpResponse:
    form = OwnPasswordForm(request.POST)
    if form.is_valid():
        try:
            revoked = services.change_own_password(
                user=request.user,
                old=form.cleaned_data["old_password"],
                new=form.cleaned_data["new_password"],
                request=request,
            )
        except ServiceError as e:
            add_service_error(form, e, {"password": "new_password"})
            return profile(request, password_form=form, status=e.http_status)
        else:
            messages.success(
                request, _("Your password was changed; you are logged out everywhere else.")
            )
            if revoked:
                messages.warning(
                    request,
                    ngettext(
                        "Your API token was revoked: create a new one for your programs.",
                        "Your %(count)d API tokens were revoked: create new ones for your "
                        "programs.",
                        revoked,
                    )
                    % {"count": revoked},
                )
            return redirect("accounts:profile")
    return profile(request, password_form=form)


def _confirm(request: HttpRequest, **context: object) -> HttpResponse:
    """The confirmation step of an action that cannot be undone (the page posts back)."""
    context.setdefault("action", request.path)
    return render(request, "core/confirm.html", {"danger": True, **context})


# --- users (administrators) -----------------------------------------------------------------

USER_ORDER = Order("username", ("username",), descending=False)  # unique, so indexed


def _users(request: HttpRequest) -> QuerySet[User]:
    """The accounts of the administrator's organisation: another's answer as missing ones."""
    return User.objects.filter(organisation=request.organisation)  # type: ignore[attr-defined]


@admin_required
def users(request: HttpRequest) -> HttpResponse:
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"] or services.generate_password()
        try:
            with transaction.atomic():
                once.claim(request)
                user = services.create_user(
                    username=form.cleaned_data["username"],
                    password=password,
                    role=form.cleaned_data["role"],
                    org=request.organisation,
                )
        except once.AlreadySubmitted as e:
            messages.info(request, e.message)
            return redirect("accounts:users")
        except ServiceError as e:
            add_service_error(form, e)
        else:
            messages.success(request, _("The account “%(name)s” was created.") % {"name": user})
            if form.cleaned_data["password"]:
                return redirect("accounts:user", user_id=user.id)
            once.done(request)
            return _user_page(request, user, new_password=password)  # shown in this answer only
    context = paginate(request, _users(request), USER_ORDER)
    page = context["page"]
    used = hooks.user_quota_use(request.organisation, page)  # type: ignore[attr-defined]
    for account in page:
        account.quota_use = used.get(account.pk)
    return render(
        request,
        "accounts/users.html",
        {
            "users": context["page"],
            "form": form,
            "org_requires_2fa": getattr(request.organisation, "require_2fa", False),
            "org_copy_addresses": getattr(request.organisation, "copy_addresses", ""),
            "visits": visits.visits(request.organisation),  # type: ignore[attr-defined]
            **context,
        },
        status=400 if form.errors else 200,
    )


@admin_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_page(request, get_object_or_404(_users(request), id=user_id))


def _user_page(request: HttpRequest, user: User, new_password: str = "") -> HttpResponse:
    return render(
        request,
        "accounts/user.html",
        {
            "account": user,
            "role_form": RoleForm(initial={"role": user.role}),
            "password_form": PasswordResetForm(),
            "new_password": new_password,
            "quota": hooks.user_quota_use(user.organisation, [user]).get(user.pk),
        },
    )


@admin_required
@require_POST
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(_users(request), id=user_id)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise services.AccountError(_("Choose a role: administrator, operator or read only."))
        services.set_role(user=user, role=form.cleaned_data["role"])
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            _("%(name)s is now %(role)s.")
            % {"name": user.username, "role": user.get_role_display().lower()},
        )
    return redirect("accounts:user", user_id=user.id)


@admin_required
def suspend(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(_users(request), id=user_id)
    if request.method != "POST":
        return _confirm(
            request,
            title=_("Suspend an account"),
            question=_("Suspend the account “%(name)s”?") % {"name": user.username},
            detail=_(
                "They are logged out, can no longer log in, and their API tokens stop "
                "working, until an administrator reactivates the account."
            ),
            button=_("Suspend"),
            back=reverse("accounts:user", args=[user.id]),
        )
    try:
        services.set_active(user=user, active=False)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("The account “%(name)s” is suspended.") % {"name": user})
    return redirect("accounts:user", user_id=user.id)


@admin_required
@require_POST
def reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(_users(request), id=user_id)
    services.set_active(user=user, active=True)
    messages.success(request, _("The account “%(name)s” is active again.") % {"name": user})
    return redirect("accounts:user", user_id=user.id)


@admin_required
@require_POST
def user_quota(request: HttpRequest, user_id: int) -> HttpResponse:
    """The SMS parts the user may send per day and per month (0: no limit of their own)."""
    user = get_object_or_404(_users(request), id=user_id)
    try:
        services.set_user_quota(
            by=request.user,
            user=user,
            per_day=request.POST.get("quota_day", "")[:20],
            per_month=request.POST.get("quota_month", "")[:20],
        )
    except ServiceError as e:
        for err in getattr(e, "errors", [e]):
            messages.error(request, err.message)
    else:
        messages.success(
            request,
            _("Quota of %(name)s: %(day)s SMS parts a day, %(month)s a month.")
            % {
                "name": user.username,
                "day": user.quota_day or _("no limit"),
                "month": user.quota_month or _("no limit"),
            },
        )
    return redirect("accounts:user", user_id=user.id)


@admin_required
@require_POST
def reset_password(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(_users(request), id=user_id)
    form = PasswordResetForm(request.POST)
    chosen = form.cleaned_data["password"] if form.is_valid() else ""
    try:
        password = services.reset_password(user=user, password=chosen)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            _(
                "The password of “%(name)s” was changed: they are logged out everywhere and "
                "their API tokens are revoked."
            )
            % {"name": user},
        )
        if not chosen:
            return _user_page(request, user, new_password=password)  # shown in this answer only
    return redirect("accounts:user", user_id=user.id)


# --- two-factor login (Mon compte) ------------------------------------------------------------
def two_factor(request: HttpRequest) -> HttpResponse:
    """The set-up (a QR code, the secret as text, a code to confirm), or the state of the
    user's two-factor login; the recovery codes shown once, in the answer that made them."""
    user = request.user
    codes: list[str] = []
    error = ""
    if request.method == "POST":
        try:
            codes = twofactor.confirm_setup(user, request.POST.get("code", ""))
        except twofactor.WrongCode:
            error = _("This code is not right: type the code your app shows now.")
        else:
            messages.success(request, _("Two-factor login is on."))
    enabled = twofactor.enabled(user)
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enabled": enabled,
            "setup": None if enabled else twofactor.start_setup(user),
            "codes": codes,
            "codes_left": twofactor.recovery_codes_left(user) if enabled else 0,
            "required": twofactor.required(user),
            "error": error,
        },
        status=400 if error else 200,
    )


@require_POST
def two_factor_codes(request: HttpRequest) -> HttpResponse:
    if not twofactor.enabled(request.user):
        return redirect("accounts:two_factor")
    codes = twofactor.new_recovery_codes(request.user)
    messages.success(request, _("New recovery codes: the old ones no longer work."))
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enabled": True,
            "codes": codes,
            "codes_left": len(codes),
            "required": twofactor.required(request.user),
        },
    )


@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    if twofactor.required(request.user):
        messages.error(request, _("Two-factor login is required for your account."))
    else:
        twofactor.disable(request.user)
        messages.success(request, _("Two-factor login is off."))
    return redirect("accounts:two_factor")


@require_POST
def email_settings(request: HttpRequest) -> HttpResponse:
    """Mon compte: the user's email address and their copies of received SMS."""
    try:
        with transaction.atomic():
            services.set_email(user=request.user, email=request.POST.get("email", "")[:254])
            services.set_email_copies(
                user=request.user, copies=request.POST.get("email_copies", "none")
            )
            services.set_email_summary(
                user=request.user, on=request.POST.get("email_summary") == "on"
            )
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Your email settings are saved."))
    return redirect(reverse("accounts:profile") + "#email")


@require_POST
@admin_required
def org_copy_addresses(request: HttpRequest) -> HttpResponse:
    """Utilisateurs: addresses that get a copy of every SMS the organisation receives."""
    try:
        with transaction.atomic():
            services.set_org_copy_addresses(
                by=request.user,
                org=request.organisation,
                addresses=request.POST.get("copy_addresses", "")[:5000],
            )
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("The copy addresses are saved."))
    return redirect(reverse("accounts:users") + "#org-copies")


@require_POST
@admin_required
def org_two_factor(request: HttpRequest) -> HttpResponse:
    """Utilisateurs: two-factor login compulsory (or not) for the organisation's users."""
    required = request.POST.get("require_2fa") == "on"
    services.set_org_require_2fa(by=request.user, org=request.organisation, required=required)
    if required:
        messages.success(request, _("Two-factor login is now required for every user."))
    else:
        messages.success(request, _("Two-factor login is now each user's choice."))
    return redirect("accounts:users")
