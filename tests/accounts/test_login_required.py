"""Every page but the login page requires login; the API requires a token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {"accounts:login", "set_language"}
POST_ONLY = (
    "logout",
    "revoke_token",
    "create_token",
    "reply",
    "count",
    "cancel",
    "retry",
    "summary",
    "field_delete",
    "group_pick",
    "groups_delete",
)
POST_ONLY += ("notifications",)  # the notices settings form of "Mon compte"
SAMPLE_KWARGS = {
    "peer": "+33612345678",
    "token_id": 1,
    "message_id": 1,
    "entry_id": 1,
    "number": "+33612345678",
    "contact_id": 1,
    "group_id": 1,
    "field_id": 1,
    "token": "x" * 24,
    "kind": "contacts",
}
ADMIN_ONLY = {"optout:add", "optout:remove"}  # 403 for an operator
# Pages about one object, an admin's page, or a step that needs an earlier one: their own
# tests (tests/directory/) open them with what they need.
NEEDS_MORE = {
    "directory:contact",
    "directory:contact_edit",
    "directory:group_edit",
    "directory:import_preview",
    "directory:contacts_delete",
    "directory:fields",
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
def test_a_logged_in_user_sees_every_page(client_bob: Client) -> None:
    for name, url in web_routes():
        if name in PUBLIC or name.endswith(POST_ONLY) or name in NEEDS_MORE:
            continue
        expected = 403 if name in ADMIN_ONLY else 200
        assert client_bob.get(url).status_code == expected, name
