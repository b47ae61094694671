"""HTTP provider gateways against local servers that play the providers (no database)."""

from __future__ import annotations

import json

import pytest

from smsdesk.gateways import registry
from smsdesk.gateways.base import GatewayError, GatewayUnavailable, OutboundSMS, Outcome
from smsdesk.gateways.http.gateway import HttpGateway
from tests.gateways.http_providers import Provider, closed_port, serving


def line(entry: str) -> HttpGateway:
    gateway = registry.build(registry.parse_spec(entry))
    assert isinstance(gateway, HttpGateway)
    return gateway


def ovh_line(p: Provider, **extra: str) -> HttpGateway:
    options = "&".join(f"{k}={v}" for k, v in extra.items())
    return line(
        f"sms=http:ovh?endpoint={p.base}&service=sms-ab1-1&application_key=ak&"
        f"application_secret={p.secret}&consumer_key=ck&from=SHOP&timeout=1&{options}"
    )


def sms(
    i: int, to: str = "+33612345678", text: str = "Bonjour", flash: bool = False
) -> OutboundSMS:
    return OutboundSMS(id=i, to=to, text=text, flash=flash)


def test_ovh_signs_its_request_and_reads_the_job_id() -> None:
    with serving("ovh") as p:
        [result] = ovh_line(p).send_many([sms(1)])
    assert result.outcome is Outcome.ACCEPTED and result.reference == "1000"
    [seen] = p.seen
    assert seen.path == "/sms/sms-ab1-1/jobs"
    body = seen.json()
    assert body["receivers"] == ["+33612345678"] and body["message"] == "Bonjour"
    assert body["sender"] == "SHOP" and body["senderForResponse"] is False
    assert "class" not in body


def test_a_wrong_ovh_secret_puts_the_line_down_and_loses_nothing() -> None:
    with serving("ovh", secret="the-real-one") as p:
        gateway = line(
            f"sms=http:ovh?endpoint={p.base}&service=s&application_key=ak&"
            f"application_secret=wrong&consumer_key=ck&concurrency=1"
        )
        results = gateway.send_many([sms(1), sms(2)])
    assert [r.outcome for r in results] == [Outcome.NOT_HANDED_OVER] * 2
    assert "HTTP 403" in results[0].error
    assert len(p.seen) == 1  # the second was not tried once the line was known down


def test_ovh_sends_a_flash_sms_as_class_flash() -> None:
    with serving("ovh") as p:
        [result] = ovh_line(p).send_many([sms(1, flash=True)])
    assert result.accepted
    assert p.seen[0].json()["class"] == "flash"


def test_octopush_sends_with_its_headers_and_reads_the_ticket() -> None:
    with serving("octopush", secret="k3y") as p:
        gateway = line(
            f"oc=http:octopush?url={p.base}/v1/public/sms-campaign/send&login=me%40x.fr&api_key=k3y&from=SHOP"
        )
        [result] = gateway.send_many([sms(7, text="Été")])
    assert result.accepted and result.reference == "sms_1000"
    body = p.seen[0].json()
    assert body["recipients"] == [{"phone_number": "+33612345678"}]
    assert body["text"] == "Été" and body["type"] == "sms_premium" and body["purpose"] == "alert"
    assert p.seen[0].headers["api-login"] == "me@x.fr"


def test_a_line_that_cannot_send_flash_refuses_it_without_sending() -> None:
    with serving("octopush", secret="k") as p:
        gateway = line(f"oc=http:octopush?url={p.base}/x&login=a&api_key=k")
        assert gateway.supports_flash is False
        [result] = gateway.send_many([sms(1, flash=True)])
    assert result.outcome is Outcome.REFUSED and result.permanent
    assert p.seen == []


def test_twilio_posts_a_form_with_basic_auth() -> None:
    with serving("twilio", secret="tok") as p:
        gateway = line(f"tw=twilio://AC1:tok@127.0.0.1:{p.port}?tls=0&from=%2B33700000000")
        [result] = gateway.send_many([sms(3)])
    assert result.accepted and result.reference.startswith("SM")
    assert p.seen[0].path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert p.seen[0].form() == {"To": "+33612345678", "Body": "Bonjour", "From": "+33700000000"}


def test_a_shared_line_sends_each_message_with_its_organisations_sender() -> None:
    with serving("twilio", secret="tok") as p:
        gateway = line(f"tw=twilio://AC1:tok@127.0.0.1:{p.port}?tls=0&from=%2B33700000000")
        gateway.send_many([OutboundSMS(id=4, to="+33612345678", text="x", sender="GARAGE")])
        gateway.send_many([sms(5)])
    assert [seen.form()["From"] for seen in p.seen] == ["GARAGE", "+33700000000"]


def test_a_twilio_refusal_is_a_failure_with_its_code() -> None:
    answer = (
        400,
        {},
        json.dumps(
            {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}
        ).encode(),
    )
    with serving("twilio", secret="tok", script=[answer]) as p:
        gateway = line(f"tw=twilio://AC1:tok@127.0.0.1:{p.port}?tls=0&from=%2B33700000000")
        [result] = gateway.send_many([sms(3)])
    assert result.outcome is Outcome.REFUSED and result.permanent
    assert result.error == "Twilio 21211: The 'To' number is not valid."


def test_smsgate_sends_through_its_client_with_our_reference() -> None:
    with serving("smsgate", secret="pw") as p:
        gateway = line(f"ph=smsgate://phone:pw@127.0.0.1:{p.port}?tls=0&sim=2")
        [result] = gateway.send_many([sms(9)])
    assert result.accepted and result.reference.startswith("sd9-")
    body = p.seen[0].json()
    assert p.seen[0].path == "/messages"
    assert body["phoneNumbers"] == ["+33612345678"] and body["textMessage"] == {"text": "Bonjour"}
    assert body["id"] == result.reference and body["simNumber"] == 2


def test_nothing_listening_means_not_handed_over() -> None:
    gateway = line(
        f"sms=http:ovh?endpoint=http://127.0.0.1:{closed_port()}&service=s&application_key=a&"
        "application_secret=b&consumer_key=c"
    )
    results = gateway.send_many([sms(1), sms(2)])
    assert [r.outcome for r in results] == [Outcome.NOT_HANDED_OVER] * 2
    assert "connection refused" in results[0].error


def test_a_provider_that_hangs_leaves_the_message_unknown() -> None:
    with serving("ovh", script=["hang"], hang_for=3) as p:
        [result] = ovh_line(p, concurrency="1").send_many([sms(1)])
    assert result.outcome is Outcome.MAYBE_HANDED_OVER
    assert "no answer" in result.error


def test_a_cut_connection_leaves_the_message_unknown() -> None:
    with serving("ovh", script=["cut"]) as p:
        [result] = ovh_line(p).send_many([sms(1)])
    assert result.outcome is Outcome.MAYBE_HANDED_OVER


def test_smsgate_unanswered_keeps_our_reference_for_a_late_webhook() -> None:
    with serving("smsgate", secret="pw", script=["hang"], hang_for=3) as p:
        gateway = line(f"ph=smsgate://phone:pw@127.0.0.1:{p.port}?tls=0&timeout=1")
        [result] = gateway.send_many([sms(4)])
    assert result.outcome is Outcome.MAYBE_HANDED_OVER
    assert result.references and result.references[0] == p.seen[0].json()["id"]


def test_an_answer_that_is_not_json_leaves_the_message_unknown() -> None:
    with serving("ovh", script=["garbage"]) as p:
        [result] = ovh_line(p).send_many([sms(1)])
    assert result.outcome is Outcome.MAYBE_HANDED_OVER
    assert "unreadable answer" in result.error


def test_json_without_an_id_leaves_the_message_unknown() -> None:
    with serving("twilio", secret="tok", script=[(201, {}, b'{"status": "queued"}')]) as p:
        gateway = line(f"tw=twilio://AC1:tok@127.0.0.1:{p.port}?tls=0&from=X")
        [result] = gateway.send_many([sms(1)])
    assert result.outcome is Outcome.MAYBE_HANDED_OVER


def test_503_puts_the_line_down_until_retry_after_and_loses_nothing() -> None:
    with serving("ovh", script=[(503, {"Retry-After": "120"}, b"")]) as p:
        gateway = ovh_line(p, concurrency="1")
        results = gateway.send_many([sms(1), sms(2), sms(3)])
        assert [r.outcome for r in results] == [Outcome.NOT_HANDED_OVER] * 3
        assert len(p.seen) == 1
        with pytest.raises(GatewayUnavailable, match="wait"):
            gateway.start(lambda e: None)


def test_500_is_retried_later_not_failed() -> None:
    with serving("ovh", script=[(500, {}, b"oops")]) as p:
        [result] = ovh_line(p).send_many([sms(1)])
    assert result.outcome is Outcome.REFUSED and not result.permanent


def test_504_leaves_the_message_unknown() -> None:
    with serving("ovh", script=[(504, {}, b"")]) as p:
        [result] = ovh_line(p).send_many([sms(1)])
    assert result.outcome is Outcome.MAYBE_HANDED_OVER


def test_429_with_retry_after_slows_down_and_sends_everything() -> None:
    waits: list[float] = []
    with serving("ovh", script=[(429, {"Retry-After": "2"}, b"")]) as p:
        gateway = ovh_line(p, concurrency="1")
        gateway._sleep = waits.append  # no real wait; the pause asked is what counts
        clock = iter(range(0, 10_000, 3))  # each look at the clock is 3 s later
        gateway._clock = lambda: float(next(clock))
        results = gateway.send_many([sms(1), sms(2)])
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 2
    assert len(p.seen) == 3  # the throttled one sent again
    assert waits == [] or all(w <= 2 for w in waits)


def test_429_beyond_patience_rests_the_line_without_failing_anything() -> None:
    with serving("ovh", script=[(429, {"Retry-After": "600"}, b"")]) as p:
        gateway = ovh_line(p, concurrency="1", patience="30")
        results = gateway.send_many([sms(1), sms(2)])
    assert [r.outcome for r in results] == [Outcome.NOT_HANDED_OVER] * 2
    assert "429" in results[0].error
    with pytest.raises(GatewayUnavailable):
        gateway.start(lambda e: None)


def test_no_credit_left_waits_instead_of_failing() -> None:
    answer = (402, {}, b'{"message": "Not enough credits"}')
    with serving("octopush", secret="k", script=[answer]) as p:
        gateway = line(f"oc=http:octopush?url={p.base}/x&login=a&api_key=k")
        [result] = gateway.send_many([sms(1)])
    assert result.outcome is Outcome.NOT_HANDED_OVER and "credit" in result.error


def test_results_reach_progress_on_the_calling_thread() -> None:
    import threading

    seen_threads: set[str] = set()
    with serving("ovh") as p:
        gateway = ovh_line(p, concurrency="4")
        results = gateway.send_many(
            [sms(i) for i in range(1, 9)],
            lambda rs: seen_threads.add(threading.current_thread().name),
        )
    assert all(r.accepted for r in results)
    assert seen_threads == {threading.current_thread().name}
    assert [r.message_id for r in results] == list(range(1, 9))


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("x=http:ovh?service=s&application_key=a", "application_secret"),
        ("x=http:octopush?login=a", "api_key"),
        ("x=http:nope", "say which provider"),
        ("x=twilio://AC1@api.twilio.com?from=X", "auth token"),
        ("x=smsgate://u:p@h?sim=4", "sim is 1, 2 or 3"),
        ("x=http:octopush?login=a&api_key=k&bogus=1", "unknown option"),
        ("x=http:octopush?login=a&api_key=k&timeout=0", "timeout must be"),
    ],
)
def test_a_wrong_line_is_refused_at_start_in_one_line(entry: str, why: str) -> None:
    with pytest.raises(GatewayError, match=why):
        registry.build(registry.parse_spec(entry))


def test_smsgate_cloud_mode_speaks_to_the_3rdparty_api() -> None:
    gateway = line("ph=smsgate://u:p@api.sms-gate.app")
    assert gateway.base_url == "https://api.sms-gate.app/3rdparty/v1"  # type: ignore[attr-defined]
    private = line("ph=smsgate://u:p@sms.example.fr/3rdparty/v1")
    assert private.base_url == "https://sms.example.fr/3rdparty/v1"  # type: ignore[attr-defined]


def test_smsdesk_check_connects_to_the_provider_without_sending() -> None:
    with serving("ovh") as p:
        assert ovh_line(p).preflight() == ""
        assert p.seen == []
    gone = line(
        f"sms=http:ovh?endpoint=http://127.0.0.1:{closed_port()}&service=s&application_key=a&"
        "application_secret=b&consumer_key=c"
    )
    assert "cannot connect to 127.0.0.1" in gone.preflight()
