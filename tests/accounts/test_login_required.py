"""Every page but the login page requires login; the API requires a token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {
    "accounts:login",
    "set_language",
    # a forgotten password: reached without an account (tests/accounts/test_password_reset.py)
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    # the second step of a login (tests/accounts/test_two_factor.py)
    "accounts:login_code",
    # a mail's one-click "stop these mails": the signed token is the authority
    # (tests/notify/test_notifications.py)
    "mail:stop",
}
# Providers' callbacks: outside the login, authenticated by the URL's secret and the
# provider's signature (tests/worker/test_http_callbacks.py: 403 without them).
PUBLIC |= {"worker:callback"}
# Reply by email through a mail provider: outside the login, authenticated by
# SMSDESK_EMAIL_INBOUND_TOKEN (tests/notify/test_inbound_hook.py: 404 without the setting,
# 401 without the secret; below).
PUBLIC |= {"notify:inbound", "notify:inbound_mime"}
POST_ONLY = (
    "logout",
    "create_token",
    "reply",
    "count",
    "summary",
    "csv_upload",
    "field_delete",
    "group_pick",
    "groups_delete",
    "change_password",
    "change_role",
    "reactivate",
    "reset_password",
    "user_quota",  # a user's own quota (the users page)
    "notifications",  # the notices settings form of "Mon compte"
    "preferences",
    "test_send",
    "webhooks:create",
    "webhooks:toggle",
    "webhooks:send_again",
    "two_factor_codes",
    "email_settings",
    "org_two_factor",
    "org_copy_addresses",
    "two_factor_disable",
    "signature",  # Mon compte's signature form
)
POST_ONLY += ("preview",)  # New SMS: a personalised text's preview
POST_ONLY += ("line_pause", "line_resume", "line_routing", "line_reset")  # Passerelles: a line
SAMPLE_KWARGS = {
    "conversation_id": 1,
    "token_id": 1,
    "message_id": 1,
    "user_id": 1,
    "entry_id": 1,
    "number": "+33612345678",
    "contact_id": 1,
    "group_id": 1,
    "field_id": 1,
    "token": "x" * 24,
    "kind": "contacts",
    "campaign_id": 1,
    "slug": "default",  # an organisation (the platform pages)
    "name": "simulator",  # a line (gateways/lines/<name>/...)
    "recurrence_id": 1,
    "rule_id": 1,
    "report_id": 1,
    "endpoint_id": 1,
    "delivery_id": 1,
    "webhook_id": 1,
    "uidb64": "MQ",
    "line": "simulator",
    "secret": "0" * 32,
}
# Pages about one object, an admin's page, or a step that needs an earlier one: their own
# tests (tests/directory/) open them with what they need.
NEEDS_MORE = {
    "directory:contact",
    "directory:contact_edit",
    "directory:group_edit",
    "directory:import_preview",
    "directory:contacts_delete",
    "directory:fields",
    # a campaign's page and steps (tests/messaging/test_campaigns.py)
    "messaging:campaign",
    "messaging:campaign_progress",
    "messaging:campaign_cancel",
    "messaging:campaign_retry",
    # issue 20: one recurring send, one auto-reply (tests/messaging/test_automation_views.py)
    "messaging:recurring_edit",
    "messaging:recurring_pause",
    "messaging:recurring_delete",
    "messaging:autoreply_move",
    "messaging:autoreply_delete",
    "messaging:autoreply_test",
    "messaging:autoreply_edit",
    "directory:dynamic_group_count",
    # the invalid numbers of a send or an import (tests/directory/test_invalid_numbers.py)
    "directory:invalid",
    "directory:invalid_csv",
    "directory:invalid_cleanup",
    # an endpoint's pages (tests/webhooks/test_pages.py)
    "webhooks:detail",
    "webhooks:delete",
}


def named_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """(name, path) of every named page, with sample arguments filled in."""
    from django.urls import reverse

    routes = []
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{p.namespace}:" if p.namespace else prefix
            routes += named_routes(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            name = prefix + p.name
            kwargs = {k: v for k, v in SAMPLE_KWARGS.items() if k in p.pattern.regex.groupindex}
            routes.append((name, reverse(name, kwargs=kwargs)))
    return routes


def web_routes() -> list[tuple[str, str]]:
    return [(n, u) for n, u in named_routes() if not u.startswith("/api/")]


@pytest.mark.django_db
def test_every_page_redirects_to_login_when_logged_out() -> None:
    client = Client()
    checked = 0
    for name, url in web_routes():
        if name in PUBLIC:
            continue
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, url, response.status_code)
            assert response["Location"].startswith("/accounts/login/"), (name, url)
        checked += 1
    assert checked >= 10


@pytest.mark.django_db
def test_the_login_page_is_public() -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert "Connexion" in response.content.decode()  # French by default


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer smsd_forged", "Token abc"])
@pytest.mark.parametrize(
    "method,url",
    [("get", "/api/v1/messages"), ("get", "/api/v1/messages/1"), ("post", "/api/v1/messages")],
)
def test_the_api_answers_401_without_a_valid_token(header, method, url) -> None:  # type: ignore[no-untyped-def]
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = getattr(Client(), method)(url, content_type="application/json", **kwargs)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/mail/inbound/", "/mail/inbound/mime"])
def test_the_mail_inbound_hook_is_public_but_authenticates_by_its_secret(settings, url) -> None:  # type: ignore[no-untyped-def]
    assert Client().post(url, b"x", content_type="message/rfc822").status_code == 404
    settings.SMSDESK_EMAIL_INBOUND_TOKEN = "hook-secret"
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer nope"}):
        response = Client().post(url, b"x", content_type="message/rfc822", **headers)
        assert response.status_code == 401  # no login page: the provider cannot log in
    right = Client().post(
        url, b"x", content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer hook-secret"
    )
    assert right.status_code == 422  # past the secret: the mail is checked (unreadable)


USER_PAGES = {"accounts:users", "accounts:user", "accounts:suspend"}
ADMIN_ONLY = USER_PAGES | {"optout:add", "optout:remove"}  # 403 for an operator
ADMIN_ONLY |= {"optout:confirmation", "optout:import"}  # the STOP list's settings and import
ADMIN_ONLY |= {"worker:gateways", "worker:gateways_panel"}  # Passerelles
ADMIN_ONLY |= {"webhooks:list"}
ADMIN_ONLY |= {"accounts:journal", "accounts:journal_export"}  # the audit log
NEEDS_A_ROW = {"messaging:conversation_with": 404}  # no ?number= given


@pytest.mark.django_db
def test_a_logged_in_user_sees_every_page(client_bob: Client, admin_user, operator) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.accounts.services import create_token
    from smsdesk.messaging.models import Conversation
    from smsdesk.messaging.sending import create_campaign

    campaign = create_campaign(author=operator, body="hi", to=["+33612345678"])
    token, _raw = create_token(user=operator)
    admin = Client()
    admin.force_login(admin_user)
    for name, url in web_routes():
        if name in PUBLIC or name.endswith(POST_ONLY) or name in NEEDS_MORE:
            continue
        url = (
            url.replace("/messages/1/", f"/messages/{campaign.created_messages[0].id}/")
            .replace("/campaigns/1/", f"/campaigns/{campaign.id}/")
            .replace("/tokens/1/", f"/tokens/{token.id}/")
            .replace("/users/1/", f"/users/{operator.id}/")
            .replace("/conversations/1/", f"/conversations/{Conversation.objects.get().id}/")
        )
        expected = NEEDS_A_ROW.get(name, 403 if name in ADMIN_ONLY else 200)
        if name.startswith("platform:"):  # the provider's pages: not there for an organisation
            expected = 404
        assert client_bob.get(url).status_code == expected, name
        if name in USER_PAGES:
            assert admin.get(url).status_code == 200, name
