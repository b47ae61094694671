"""Providers' callbacks end to end: a message sent by the worker through a local server playing
the provider, then the provider's signed callbacks posted to smsdesk's endpoint (received
SMS into the discussion through the receive service, delivery states through the lifecycle),
a replay stored once, a forged one refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from smsdesk.accounts.models import User
from smsdesk.gateways import registry
from smsdesk.messaging import gateway_state, sending
from smsdesk.messaging.models import Conversation, Message
from smsdesk.optout.models import OptOut
from smsdesk.worker import callbacks
from smsdesk.worker.models import CallbackReceipt
from tests.gateways.http_providers import Provider, serving
from tests.worker.helpers import drain, runner_for

S = Message.Status


@pytest.fixture
def twilio(settings) -> Iterator[Provider]:  # type: ignore[no-untyped-def]
    with serving("twilio", secret="tok") as p:
        settings.SMSDESK_GATEWAYS = [
            f"tw=twilio://AC1:tok@127.0.0.1:{p.port}?tls=0&from=%2B33700000000",
            "ph=smsgate://phone:pw@127.0.0.1:1?tls=0&signing_key=sk",
            "oc=http:octopush?login=a&api_key=k",
        ]
        gateway_state.register_all([("tw", "twilio"), ("ph", "smsgate"), ("oc", "http")])
        yield p


def url(line: str, secret: str | None = None) -> str:
    return reverse(
        "worker:callback", kwargs={"line": line, "secret": secret or callbacks.secret_for(line)}
    )


def twilio_post(client: Client, fields: dict[str, str], *, token: str = "tok"):  # type: ignore[no-untyped-def]  # noqa: S107
    path = url("tw")
    data = "http://testserver" + path + "".join(k + v for k, v in sorted(fields.items()))
    signature = base64.b64encode(
        hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    ).decode()
    return client.post(
        path,
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def smsgate_post(client: Client, envelope: dict, *, key: str = "sk", stamp: int | None = None):  # type: ignore[no-untyped-def, type-arg]
    body = json.dumps(envelope).encode()
    stamp = int(time.time()) if stamp is None else stamp
    signature = hmac.new(key.encode(), body + str(stamp).encode(), hashlib.sha256).hexdigest()
    return client.generic(
        "POST",
        url("ph"),
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signature,
        HTTP_X_TIMESTAMP=str(stamp),
    )


def sent_through_twilio(settings) -> Message:  # type: ignore[no-untyped-def]
    campaign = sending.create_campaign(
        author=None, body="Bonjour", to=["+33612345678"], gateway="tw"
    )
    [msg] = campaign.created_messages
    gateway = registry.build(registry.parse_spec(settings.SMSDESK_GATEWAYS[0]))
    drain(runner_for(gateway))
    msg.refresh_from_db()
    assert msg.status == S.SENT and msg.gateway_ref.startswith("SM")
    return msg


@pytest.mark.django_db(transaction=True)
def test_a_twilio_status_callback_delivers_the_message_once(twilio, settings) -> None:  # type: ignore[no-untyped-def]
    msg = sent_through_twilio(settings)
    assert twilio.seen[0].form()["To"] == "+33612345678"
    client = Client()
    fields = {"MessageSid": msg.gateway_ref, "MessageStatus": "delivered", "AccountSid": "AC1"}
    answer = twilio_post(client, fields)
    assert answer.status_code == 200
    msg.refresh_from_db()
    assert msg.status == S.DELIVERED
    assert twilio_post(client, fields).status_code == 200  # Twilio tries again: nothing changes
    assert CallbackReceipt.objects.filter(gateway="tw").count() == 1
    msg.refresh_from_db()
    assert msg.status == S.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_an_undelivered_state_fails_the_message_with_twilio_s_code(twilio, settings) -> None:  # type: ignore[no-untyped-def]
    msg = sent_through_twilio(settings)
    fields = {"MessageSid": msg.gateway_ref, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert twilio_post(Client(), fields).status_code == 200
    msg.refresh_from_db()
    assert msg.status == S.FAILED and "30005" in msg.error


@pytest.mark.django_db
def test_a_forged_twilio_callback_is_refused_and_changes_nothing(twilio) -> None:  # type: ignore[no-untyped-def]
    fields = {"MessageSid": "SM1", "From": "+33611111111", "Body": "STOP", "SmsStatus": "received"}
    answer = twilio_post(Client(), fields, token="not-the-token")
    assert answer.status_code == 403
    assert not Message.objects.exists() and not OptOut.objects.exists()
    unsigned = Client().post(
        url("tw"), urlencode(fields), content_type="application/x-www-form-urlencoded"
    )
    assert unsigned.status_code == 403


@pytest.mark.django_db
def test_a_wrong_secret_in_the_url_is_refused(twilio) -> None:  # type: ignore[no-untyped-def]
    answer = Client().post(url("tw", secret="0" * 32), {"MessageSid": "SM1"})
    assert answer.status_code == 403
    assert Client().post(url("nope", secret="0" * 32), {}).status_code == 404


@pytest.mark.django_db
def test_a_received_sms_by_twilio_goes_into_the_discussion_and_stop_is_honoured(twilio) -> None:  # type: ignore[no-untyped-def]
    fields = {
        "MessageSid": "SMin1",
        "From": "+33611111111",
        "To": "+33700000000",
        "Body": "STOP",
        "SmsStatus": "received",
    }
    answer = twilio_post(Client(), fields)
    assert answer.status_code == 200 and b"<Response>" in answer.content
    [inbound] = Message.objects.filter(direction=Message.Direction.INBOUND)
    assert inbound.peer == "+33611111111" and inbound.body == "STOP"
    assert Conversation.objects.filter(peer="+33611111111").exists()
    assert OptOut.objects.filter(number="+33611111111").exists()


@pytest.mark.django_db
def test_a_shared_twilio_line_stores_an_sms_in_the_organisation_it_was_sent_to(
    twilio, settings
) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.accounts.models import Organisation
    from smsdesk.core import tenancy

    settings.SMSDESK_GATEWAYS = [
        f"tw=twilio://AC1:tok@127.0.0.1:{twilio.port}?tls=0&from=%2B33700000000"
        "&org=a,b&sender.a=%2B33700000001&sender.b=%2B33700000002"
    ]
    tenancy.sole_organisation()
    a = Organisation.objects.create(name="A", slug="a")
    b = Organisation.objects.create(name="B", slug="b")
    fields = {"MessageSid": "SMin2", "From": "+33611111111", "To": "+33700000002"}
    answer = twilio_post(Client(), {**fields, "Body": "STOP", "SmsStatus": "received"})
    assert answer.status_code == 200
    assert Message.objects.for_org(b).filter(direction="in", body="STOP").exists()
    assert OptOut.objects.for_org(b).filter(number="+33611111111").exists()
    assert not OptOut.objects.for_org(a).exists()
    assert not Message.objects.for_org(a).filter(direction="in").exists()


@pytest.mark.django_db
def test_a_signed_smsgate_sms_appears_once_even_when_replayed(twilio) -> None:  # type: ignore[no-untyped-def]
    envelope = {
        "deviceId": "dev1",
        "event": "sms:received",
        "id": "Ey6ECgOkVVFjz3CL48B8C",
        "webhookId": "w1",
        "payload": {
            "messageId": "abc123",
            "message": "Rappelez-moi",
            "phoneNumber": "+33622222222",
            "simNumber": 1,
            "receivedAt": "2026-12-07T12:46:11.000+01:00",
        },
    }
    client = Client()
    assert smsgate_post(client, envelope).status_code == 200
    assert smsgate_post(client, envelope).status_code == 200  # its retry policy sends again
    [inbound] = Message.objects.filter(direction=Message.Direction.INBOUND)
    assert inbound.body == "Rappelez-moi" and inbound.peer == "+33622222222"
    assert inbound.gateway_id == "ph"


@pytest.mark.django_db
def test_a_forged_or_stale_smsgate_webhook_is_refused(twilio) -> None:  # type: ignore[no-untyped-def]
    envelope = {
        "event": "sms:received",
        "id": "e1",
        "payload": {"message": "hi", "phoneNumber": "+33622222222"},
    }
    client = Client()
    assert smsgate_post(client, envelope, key="guessed").status_code == 403
    assert smsgate_post(client, envelope, stamp=int(time.time()) - 3600).status_code == 403
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_callback_we_cannot_read_is_a_400(twilio) -> None:  # type: ignore[no-untyped-def]
    answer = smsgate_post(Client(), {"event": "sms:received", "id": "e2", "payload": {}})
    assert answer.status_code == 400


@pytest.mark.django_db
def test_octopush_delivery_state_before_its_message_is_kept_for_later(twilio) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.messaging.models import UnmatchedReport

    answer = Client().post(
        url("oc"),
        json.dumps({"message_id": "sms_77", "number": "+33612345678", "status": "DELIVERED"}),
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert UnmatchedReport.objects.filter(gateway_id="oc").count() == 1


@pytest.mark.django_db
def test_the_gateways_page_shows_each_line_s_callback_url(twilio, admin_user: User) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("worker:gateways")).content.decode()
    assert "http://testserver" + url("tw") in page
    assert "http://testserver" + url("ph") in page


@pytest.mark.django_db
def test_an_odd_sms_from_the_network_is_stored_as_is(twilio) -> None:  # type: ignore[no-untyped-def]
    body = {"number": "../A/B", "text": "nul\x00 here", "message_id": "m1"}
    answer = Client().post(url("oc"), json.dumps(body), content_type="application/json")
    assert answer.status_code == 200
    [inbound] = Message.objects.filter(direction=Message.Direction.INBOUND)
    assert inbound.peer == "../A/B" and inbound.body == "nul\ufffd here"


@pytest.mark.django_db
def test_a_forged_callback_is_logged_with_its_line(twilio, caplog) -> None:  # type: ignore[no-untyped-def]
    Client().post(url("tw", secret="f" * 32), {"MessageSid": "SM1"})
    assert any("line tw refused" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_octopush_reports_name_the_ticket_its_answer_gave(twilio) -> None:  # type: ignore[no-untyped-def]
    from smsdesk.messaging.models import UnmatchedReport

    body = {
        "sms_ticket": "sms_9",
        "message_id": "x1",
        "number": "+33612345678",
        "status": "NOT_DELIVERED",
    }
    assert (
        Client().post(url("oc"), json.dumps(body), content_type="application/json").status_code
        == 200
    )
    [report] = UnmatchedReport.objects.filter(gateway_id="oc")
    assert report.reference == "sms_9"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe=\x00", "application/x-www-form-urlencoded"),
        (b"[1, 2]", "application/json"),
        (b'"just a string"', "application/json"),
        (b'{"number": {"x": 1}, "text": ["a"]}', "application/json"),
        (b'{"sms_ticket": 9223372036854775808, "status": {"a": 1}}', "application/json"),
        (b"{" * 5000, "application/json"),
        (b"", "text/plain"),
    ],
)
def test_a_hostile_callback_never_breaks_the_endpoint(
    twilio, body: bytes, content_type: str
) -> None:  # type: ignore[no-untyped-def]
    answer = Client(raise_request_exception=False).generic(
        "POST", url("oc"), body, content_type=content_type
    )
    assert answer.status_code in (200, 400)
    assert not Message.objects.filter(direction=Message.Direction.INBOUND).exists()
