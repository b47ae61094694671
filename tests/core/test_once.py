"""The same form submitted twice acts once (core/once.py), on every form that creates
something: New SMS, a reply, an API token, a user."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from smsdesk.accounts.models import ApiToken, User
from smsdesk.core.models import FormKey
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Conversation, Message


def key_of(html: str) -> str:
    return re.search(r'name="form_key" value="([0-9a-f]{32})"', html).group(1)


@pytest.mark.django_db
def test_new_sms_posted_twice_sends_once(client_bob: Client) -> None:
    key = key_of(client_bob.get("/sms/new/").content.decode())
    form = {"text": "Bonjour", "numbers": "06 12 34 56 78", "form_key": key}
    assert client_bob.post("/sms/new/", form).status_code == 302
    again = client_bob.post("/sms/new/", form, follow=True)
    assert Message.objects.count() == 1
    assert "déjà été envoyé" in again.content.decode()


@pytest.mark.django_db
def test_a_refused_form_keeps_its_key_for_the_corrected_one(client_bob: Client) -> None:
    key = key_of(client_bob.get("/sms/new/").content.decode())
    refused = client_bob.post("/sms/new/", {"text": "", "numbers": "12", "form_key": key})
    assert refused.status_code == 400
    assert key_of(refused.content.decode()) == key  # the same form, shown again
    fixed = {"text": "Bonjour", "numbers": "06 12 34 56 78", "form_key": key}
    assert client_bob.post("/sms/new/", fixed).status_code == 302
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_each_new_form_gets_a_new_key(client_bob: Client) -> None:
    first = key_of(client_bob.get("/sms/new/").content.decode())
    assert first != key_of(client_bob.get("/sms/new/").content.decode())


@pytest.mark.django_db
def test_a_reply_posted_twice_sends_once(client_bob: Client) -> None:
    receiving.receive_inbound(
        gateway="simulator", sender="+33698765432", text="Allô ?", received_at=_now()
    )
    conversation = Conversation.objects.get()
    url = f"/sms/conversations/{conversation.id}/"
    key = key_of(client_bob.get(url).content.decode())
    for _ in range(2):
        client_bob.post(f"{url}reply/", {"text": "Oui ?", "form_key": key})
    assert Message.objects.filter(direction="out").count() == 1


@pytest.mark.django_db
def test_a_token_form_posted_twice_makes_one_token(client_bob: Client) -> None:
    key = key_of(client_bob.get("/accounts/me/").content.decode())
    for _ in range(2):
        client_bob.post("/accounts/me/tokens/", {"name": "CRM", "form_key": key})
    assert ApiToken.objects.count() == 1
    # reloading the page (its address is /accounts/me/ once shown) creates nothing either
    client_bob.get("/accounts/me/")
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
def test_the_page_showing_a_new_token_makes_the_next_one(client_bob: Client) -> None:
    """The token is shown in the answer to its form: that page's form has a new key."""
    key = key_of(client_bob.get("/accounts/me/").content.decode())
    shown = client_bob.post("/accounts/me/tokens/", {"name": "CRM", "form_key": key})
    next_key = key_of(shown.content.decode())
    assert next_key != key
    client_bob.post("/accounts/me/tokens/", {"name": "script", "form_key": next_key})
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["CRM", "script"]


@pytest.mark.django_db
def test_a_user_form_posted_twice_makes_one_user(admin_user: User) -> None:
    client = Client()
    client.force_login(admin_user)
    key = key_of(client.get("/accounts/users/").content.decode())
    form = {"username": "carol", "role": "operator", "password": "", "form_key": key}
    assert client.post("/accounts/users/", form).status_code == 200  # its password shown once
    again = client.post("/accounts/users/", form, follow=True)
    assert User.objects.filter(username="carol").count() == 1
    assert "déjà été envoyé" in again.content.decode()


@pytest.mark.django_db
def test_a_forged_key_is_ignored_not_stored(client_bob: Client) -> None:
    form = {"text": "x", "numbers": "06 12 34 56 78", "form_key": "\x00' OR 1=1 --"}
    assert client_bob.post("/sms/new/", form).status_code == 302
    assert not FormKey.objects.exists()


def _now():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.now()


# --- confirmations --------------------------------------------------------------------------
@pytest.mark.django_db
def test_cancel_asks_first(client_bob: Client, operator: User) -> None:
    from tests.conftest import in_a_month

    [m] = sending.create_campaign(
        author=operator, body="Joyeux Noël", to=["0612345678"], send_at=in_a_month()
    ).created_messages
    listing = client_bob.get("/sms/sent/").content.decode()
    assert f'href="/sms/messages/{m.id}/cancel/?next=%2Fsms%2Fsent%2F"' in listing
    confirm = client_bob.get(f"/sms/messages/{m.id}/cancel/?next=/sms/sent/")
    html = confirm.content.decode()
    assert "Annuler ce SMS vers 06 12 34 56 78" in html and "Joyeux Noël" in html
    assert 'name="next" value="/sms/sent/"' in html
    m.refresh_from_db()
    assert m.status == "scheduled"  # asking changed nothing
    done = client_bob.post(f"/sms/messages/{m.id}/cancel/", {"next": "/sms/sent/"})
    assert done["Location"] == "/sms/sent/"
    m.refresh_from_db()
    assert m.status == "cancelled"


@pytest.mark.django_db
def test_the_confirmation_never_goes_back_to_another_site(client_bob: Client, operator) -> None:  # type: ignore[no-untyped-def]
    [m] = sending.create_campaign(author=operator, body="x", to=["0612345678"]).created_messages
    html = client_bob.get(f"/sms/messages/{m.id}/cancel/?next=https://evil.example/").content
    assert b'href="https://evil' not in html and b'value="https://evil' not in html
    assert b'href="/sms/sent/"' in html


@pytest.mark.django_db
def test_revoke_asks_first(client_bob: Client, operator: User) -> None:
    from smsdesk.accounts.services import create_token

    token, _raw = create_token(user=operator, name="CRM")
    page = client_bob.get("/accounts/me/").content.decode()
    assert f'href="/accounts/me/tokens/{token.id}/revoke/"' in page
    confirm = client_bob.get(f"/accounts/me/tokens/{token.id}/revoke/").content.decode()
    assert "Révoquer le jeton « CRM »" in confirm
    assert ApiToken.objects.filter(id=token.id).exists()
    client_bob.post(f"/accounts/me/tokens/{token.id}/revoke/")
    assert not ApiToken.objects.filter(id=token.id).exists()
