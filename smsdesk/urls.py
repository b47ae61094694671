from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path

from smsdesk.api.endpoints import api, unknown_path


def _token_auth_only(patterns: list) -> list:  # type: ignore[type-arg]
    """The API authenticates with its bearer tokens: no redirect to the login page."""
    for p in patterns:
        if hasattr(p, "url_patterns"):
            _token_auth_only(p.url_patterns)
        else:
            p.callback.login_required = False
    return patterns


# A full disk or a database that cannot be used: 503 said plainly (core/faults.py).
handler500 = "smsdesk.core.faults.server_error"


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask /favicon.ico of every site: the icon among the static files."""
    return redirect(static("core/favicon.ico"))


api_urls, api_app, api_namespace = api.urls
urlpatterns = [
    path("", include("smsdesk.dashboard.urls")),
    path("accounts/", include("smsdesk.accounts.urls")),
    path("sms/", include("smsdesk.messaging.urls")),
    path("directory/", include("smsdesk.directory.urls")),
    path("stop/", include("smsdesk.optout.urls")),
    path("calls/", include("smsdesk.calls.urls")),
    path("gateways/", include("smsdesk.worker.urls")),
    path("platform/", include("smsdesk.tenants.urls")),
    path("settings/webhooks/", include("smsdesk.webhooks.urls")),
    # reply by email through a mail provider (notify/views.py: its own secret, no login)
    path("mail/inbound/", include("smsdesk.notify.urls")),
    path("mail/", include("smsdesk.mail.urls")),
    # the login page offers the language switch too
    path("i18n/", include("smsdesk.accounts.i18n_urls")),
    path("favicon.ico", favicon),
    path("api/v1/", (_token_auth_only(api_urls), api_app, api_namespace)),
    re_path(r"^api/(?P<path>.*)$", unknown_path),
]
