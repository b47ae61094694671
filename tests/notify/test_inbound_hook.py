"""Reply by email through a mail provider: `POST /mail/inbound/` (notify/views.py) hands the
mail to the same `replies.receive` as `smsdesk mail receive`.

A real HTTP POST to the live server for each shape a provider sends (the raw mail, Mailgun's
form with body-mime, SendGrid's with email and envelope), and the worker sends the SMS through
the simulator. The refusals: a forged secret (401), no setting (404), too large (413),
hostile bodies (400 or 422, nothing stored), a refused reply (422; 406 to Mailgun, which
retries anything else), the same Message-ID (200 duplicate, sent once), the database gone
(503 with Retry-After).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlencode

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import translation

from smsdesk.accounts.models import FailedTokenAttempt
from smsdesk.accounts.tokens import FAILURES_PER_MINUTE
from smsdesk.messaging.models import Message
from smsdesk.notify import replies
from smsdesk.notify.models import MailReply
from smsdesk.optout import services as optout
from tests.notify.test_replies import (  # noqa: F401  (fixtures used by name)
    PEER,
    _address,
    _in_english,
    _mail,
    _nothing_stored,
    _outbound,
    _receive_sms,
    _replies_on,
    _until,
    _user,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cret-inbound-hook-0123456789"
URL = "/mail/inbound/"


@pytest.fixture(autouse=True)
def _hook_on(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_INBOUND_TOKEN = SECRET


def _multipart(fields: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _shape(shape: str, raw: bytes, to: str) -> tuple[bytes, str]:
    """The body and Content-Type each provider sends."""
    if shape == "raw":
        return raw, "message/rfc822"
    if shape == "mailgun":  # forward() to a URL ending in "mime"
        return _multipart(
            {"recipient": to.encode(), "sender": b"ana@example.org", "body-mime": raw}
        )
    if shape == "mailgun-urlencoded":  # the mail's bytes percent-encoded as they are
        body = urlencode({"recipient": to, "body-mime": raw}).encode()
        return body, "application/x-www-form-urlencoded"
    assert shape == "sendgrid"  # Inbound Parse, "POST the raw, full MIME message"
    envelope = json.dumps({"to": [to], "from": "ana@example.org"}).encode()
    return _multipart({"to": to.encode(), "envelope": envelope, "email": raw, "charsets": b"{}"})


def _post(body: bytes, content_type: str, *, url: str = URL, secret: str | None = SECRET, **kw):  # type: ignore[no-untyped-def]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret is not None else {}
    return Client().post(url, body, content_type=content_type, **headers, **kw)


def _french(msgid: str) -> str:
    with translation.override("fr"):
        return translation.gettext(msgid)


# --- end to end: a real HTTP POST to the live server ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["raw", "mailgun", "sendgrid"])
@pytest.mark.usefixtures("worker")
def test_each_providers_post_goes_out_as_an_sms_through_the_simulator(
    live_server, shape: str
) -> None:  # type: ignore[no-untyped-def]
    ana = _user()
    to = _address(ana, _receive_sms())
    raw = _mail(to, f"Je vous rappelle ({shape}).\n\n> Pouvez-vous me rappeler ?\n")
    body, content_type = _shape(shape, raw, to)
    path = URL + ("mime" if shape == "mailgun" else "")
    url = f"{live_server.url}{path}?token={SECRET}"
    request = urllib.request.Request(  # noqa: S310
        url, data=body, headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "sent"}
    assert _until(
        lambda: Message.objects.filter(
            direction="out", status=Message.Status.DELIVERED, peer=PEER
        ).exists()
    )
    [sms] = _outbound()
    assert sms.body == f"Je vous rappelle ({shape})."
    assert sms.author_id == ana.id and sms.campaign.source == "mail"
    # the provider posts the same mail again: 200 "duplicate", nothing sent twice
    request = urllib.request.Request(  # noqa: S310
        url, data=body, headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        assert json.loads(response.read()) == {"status": "duplicate"}
    assert len(_outbound()) == 1 and MailReply.objects.count() == 1


@pytest.mark.slow
def test_a_forged_secret_on_the_live_server_is_401(live_server) -> None:  # type: ignore[no-untyped-def]
    ana = _user()
    raw = _mail(_address(ana, _receive_sms()))
    request = urllib.request.Request(  # noqa: S310
        f"{live_server.url}{URL}?token=forged",
        data=raw,
        headers={"Content-Type": "message/rfc822"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)  # noqa: S310
    assert refused.value.code == 401
    _nothing_stored()


# --- each shape through the test client -------------------------------------------------------


@pytest.mark.parametrize("shape", ["raw", "mailgun", "mailgun-urlencoded", "sendgrid"])
def test_each_shape_sends_and_answers_duplicate_the_second_time(shape: str) -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    body, content_type = _shape(shape, _mail(to), to)
    first = _post(body, content_type)
    assert first.status_code == 200, first.content
    assert first.json() == {"status": "sent"}
    again = _post(body, content_type)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    [sms] = _outbound()
    assert sms.body == "Oui, je vous rappelle à 15 h." and sms.author_id == ana.id


@pytest.mark.parametrize("shape", ["raw", "mailgun", "mailgun-urlencoded", "sendgrid"])
def test_an_8bit_mail_in_another_charset_arrives_byte_for_byte(shape: str) -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    raw = (
        f"From: ana@example.org\r\nTo: {to}\r\nMessage-ID: <latin@x>\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nD\u00e9j\u00e0 vu, \u00e0 15 h.\r\n"
    ).encode("latin-1")
    body, content_type = _shape(shape, raw, to)
    assert _post(body, content_type).json() == {"status": "sent"}
    [sms] = _outbound()
    assert sms.body == "D\u00e9j\u00e0 vu, \u00e0 15 h."


def test_the_envelope_recipient_is_the_one_used() -> None:
    """The mail's headers name no reply address (a Bcc, a forward): the provider's envelope
    recipient does."""
    ana = _user()
    to = _address(ana, _receive_sms())
    raw = _mail("Accueil <sms@example.org>")
    body, content_type = _shape("sendgrid", raw, to)
    assert _post(body, content_type).json() == {"status": "sent"}
    body, content_type = _multipart(
        {
            "recipient": f"other@example.org,{to}".encode(),
            "body-mime": _mail("x@y", message_id="<2@x>"),
        }
    )
    assert _post(body, content_type).json() == {"status": "sent"}
    assert len(_outbound()) == 2


# --- the secret -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how", ["none", "bearer-forged", "query-forged", "prefix", "other-scheme", "empty-bearer"]
)
def test_a_wrong_secret_is_401_and_stores_nothing(how: str) -> None:
    ana = _user()
    raw = _mail(_address(ana, _receive_sms()))
    client = Client()
    headers: dict[str, str] = {}
    url = URL
    if how == "bearer-forged":
        headers["HTTP_AUTHORIZATION"] = "Bearer forged"
    elif how == "query-forged":
        url = f"{URL}?token=forged"
    elif how == "prefix":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {SECRET[:-1]}"
    elif how == "other-scheme":
        headers["HTTP_AUTHORIZATION"] = f"Basic {SECRET}"
    elif how == "empty-bearer":
        headers["HTTP_AUTHORIZATION"] = "Bearer "
    response = client.post(url, raw, content_type="message/rfc822", **headers)
    assert response.status_code == 401
    _nothing_stored()


def test_the_secret_in_the_query_string_works() -> None:
    ana = _user()
    raw = _mail(_address(ana, _receive_sms()))
    response = Client().post(f"{URL}?token={SECRET}", raw, content_type="message/rfc822")
    assert response.json() == {"status": "sent"}


def test_without_the_setting_the_hook_is_404(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_EMAIL_INBOUND_TOKEN = ""
    ana = _user()
    raw = _mail(_address(ana, _receive_sms()))
    for secret in ("", SECRET):
        assert _post(raw, "message/rfc822", secret=secret).status_code == 404
    _nothing_stored()


def test_refused_secrets_are_throttled_per_address() -> None:
    for _ in range(FAILURES_PER_MINUTE):
        assert _post(b"x", "message/rfc822", secret="nope").status_code == 401
    assert _post(b"x", "message/rfc822", secret="nope").status_code == 429
    assert FailedTokenAttempt.objects.exists()


def test_only_post(settings) -> None:  # type: ignore[no-untyped-def]
    assert Client().get(f"{URL}?token={SECRET}").status_code == 405
    settings.SMSDESK_EMAIL_INBOUND_TOKEN = ""
    assert Client().get(URL).status_code == 404  # off: not there, whatever the method


# --- refusals and hostile bodies ---------------------------------------------------------------


def test_a_refusal_is_422_with_its_reason_406_to_mailgun() -> None:
    ana = _user()
    conversation = _receive_sms()
    to = _address(ana, conversation)
    local, _at, domain = to.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    response = _post(_mail(forged), "message/rfc822")
    assert response.status_code == 422
    assert response.json() == {  # in the installation's language (French by default)
        "status": "refused",
        "reason": _french("The mail is not sent to a valid reply address."),
    }
    body, content_type = _shape("mailgun", _mail(forged), forged)
    assert _post(body, content_type).status_code == 406  # Mailgun retries all but 406
    optout.opt_out(PEER, source="manual", org=conversation.organisation)
    response = _post(_mail(to), "message/rfc822")
    assert response.status_code == 422
    assert "STOP" in response.json()["reason"]
    _nothing_stored()


def test_a_mail_too_large_is_413() -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    raw = _mail(to, "x" * (replies.MAX_BYTES + 10))
    for shape in ("raw", "mailgun", "sendgrid"):
        body, content_type = _shape(shape, raw, to)
        response = _post(body, content_type)
        assert response.status_code == 413, shape
        assert response.json()["reason"] == _french(
            "The mail is too large (more than %(size)d MB)."
        ) % {"size": 10}
    _nothing_stored()


def test_a_body_larger_than_the_form_limit_is_413_before_it_is_read() -> None:
    response = _post(b"x", "multipart/form-data; boundary=x", CONTENT_LENGTH="999999999")
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body,content_type,status",
    [
        (b"", "message/rfc822", 400),
        (b"\x00\xff\xfe" * 1000, "message/rfc822", 422),
        (b"From: a@b\r\nContent-Type: multipart/mixed\r\n\r\nno boundary", "message/rfc822", 422),
        (b"From: a@b\r\nX-Huge: " + b"h" * 2_000_000 + b"\r\n\r\nhi", "message/rfc822", 422),
        (b"\x00\xff\xfe" * 1000, "multipart/form-data; boundary=zz", 400),
        (b"--zz\r\nno headers\r\n--zz--", "multipart/form-data; boundary=zz", 400),
        (b"\xff\xfe=\x00", "application/x-www-form-urlencoded", 400),
        (b"recipient=a%40b", "application/x-www-form-urlencoded", 400),
        (b'{"email": "x"}', "application/json", 400),
        (b"hello", "", 400),
    ],
)
def test_hostile_bodies_are_a_clear_4xx_with_nothing_stored(
    body: bytes, content_type: str, status: int
) -> None:
    _user()
    _receive_sms()
    response = _post(body, content_type)
    assert response.status_code == status, response.content
    assert response.json()["status"] in ("malformed", "refused")
    assert "\n" not in response.json()["reason"]
    _nothing_stored()


def test_a_sendgrid_envelope_that_is_not_json_is_400() -> None:
    ana = _user()
    to = _address(ana, _receive_sms())
    body, content_type = _multipart({"envelope": b"{not json", "email": _mail(to)})
    assert _post(body, content_type).status_code == 400
    _nothing_stored()


def test_the_database_unreachable_is_503_with_retry_after(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ana = _user()
    raw = _mail(_address(ana, _receive_sms()))

    def down(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(replies, "receive", down)
    response = _post(raw, "message/rfc822")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    _nothing_stored()
