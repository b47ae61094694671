from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smsdesk.accounts import services


def profile(request: HttpRequest) -> HttpResponse:
    tokens = request.user.api_tokens.all()
    return render(request, "accounts/profile.html", {"tokens": tokens})


@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:100]
    _token, raw = services.create_token(user=request.user, name=name)
    tokens = request.user.api_tokens.all()
    return render(request, "accounts/profile.html", {"tokens": tokens, "new_token": raw})


@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
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
