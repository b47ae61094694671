"""SMSDESK_GATEWAYS: one line per gateway, and a clear message for a mistake."""

from __future__ import annotations

import pytest

from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.registry import GatewaySpec, build, masked, parse_spec, parse_specs
from smsdesk.gateways.simulator import SimulatorGateway


def test_the_default_is_the_simulator() -> None:
    assert parse_spec("simulator") == GatewaySpec("simulator", "simulator")


def test_name_target_and_options() -> None:
    spec = parse_spec(" sim-2=simulator:anything?rate=50&delivery_delay=0.5 ")
    assert spec == GatewaySpec(
        "sim-2", "simulator", "anything", {"rate": "50", "delivery_delay": "0.5"}
    )


def test_build_applies_the_options() -> None:
    gateway = build(
        parse_spec(
            "sim=simulator?rate=50&batch_size=20&delivery_delay=0"
            "&fail_permanent=+33600000001,+33600000002&undeliverable=33600000003"
        )
    )
    assert isinstance(gateway, SimulatorGateway)
    assert (gateway.name, gateway.rate, gateway.batch_size, gateway.delivery_delay) == (
        "sim",
        50.0,
        20,
        0.0,
    )
    # A '+' in a query string reads as a space: the numbers still come out in E.164.
    assert gateway.fail_permanent == {"+33600000001", "+33600000002"}
    assert gateway.undeliverable == {"+33600000003"}


@pytest.mark.parametrize(
    "entries,says",
    [
        (["carrier-pigeon"], "unknown kind"),
        (["bad name!=simulator"], "letters, digits"),
        (["simulator", "simulator?rate=5"], "two gateways are named simulator"),
        ([], "no gateway configured"),
    ],
)
def test_mistakes_in_the_list_are_explained(entries: list[str], says: str) -> None:
    with pytest.raises(GatewayError, match=says):
        parse_specs(entries)


@pytest.mark.parametrize(
    "entry,says",
    [
        ("simulator?rate=fast", "gateway simulator"),
        ("simulator?colour=blue", "colour"),
        ("simulator?rate=-5", "rate must be a positive number"),
        ("simulator?rate=0", "rate must be a positive number"),
        ("simulator?rate=nan", "rate must be a positive number"),
    ],
)
def test_bad_options_are_explained(entry: str, says: str) -> None:
    with pytest.raises(GatewayError, match=says):
        build(parse_spec(entry))


# --- secrets in entries and URLs are masked wherever they are shown -------------------------
@pytest.mark.parametrize(
    "text,shown",
    [
        ("modem:/dev/ttyUSB0?pin=1234&baud=115200", "modem:/dev/ttyUSB0?pin=***&baud=115200"),
        ("sfr=modem:/dev/x?baud=9600&PIN=1234", "sfr=modem:/dev/x?baud=9600&PIN=***"),
        ("modem:/dev/x?sim_pin=1234&puk=12345678", "modem:/dev/x?sim_pin=***&puk=***"),
        (
            "http:https://p.example?api_key=k1&token=t2",
            "http:https://p.example?api_key=***&token=***",
        ),
        ("x?password=a&passwd=b&pwd=c&secret=d", "x?password=***&passwd=***&pwd=***&secret=***"),
        ("x?client-secret=s&auth=a&key=k", "x?client-secret=***&auth=***&key=***"),
        ("smpp://user:pass@smsc.example:2775", "smpp://user:***@smsc.example:2775"),
        ("smpp://user:pa:ss@h?password=p", "smpp://user:***@h?password=***"),
        (
            "postgresql://smsdesk:s3cr%40t@db:5432/smsdesk",
            "postgresql://smsdesk:***@db:5432/smsdesk",
        ),
        ("smtp+tls://mailer:hunter2@mail.example:587", "smtp+tls://mailer:***@mail.example:587"),
        (
            "gateway 'modem:/dev/x?pin=1234': unknown kind",
            "gateway 'modem:/dev/x?pin=***': unknown kind",
        ),
        ("settings say pin=1234 here", "settings say pin=*** here"),
    ],
)
def test_masked_hides_every_secret(text: str, shown: str) -> None:
    assert masked(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "simulator?rate=50&delivery_delay=0.5&fail_permanent=+33600000001",
        "modem:/dev/serial/by-id/usb-HUAWEI-if00-port0?baud=115200&smsc=+33609001390",
        "modem:/dev/x?hangup=true&report=true&health_every=60&timeout=10&send_timeout=60",
        "simulator?log=/var/log/smsdesk/pinned.jsonl&monkey=1&keyboard=2&pin=",
        "postgresql://postgres@127.0.0.1:5432/smsdesk",
        "sqlite:////home/smsdesk/.local/share/smsdesk/smsdesk.sqlite3",
        "http://127.0.0.1:8000/accounts/login/",
    ],
)
def test_masked_keeps_what_is_not_secret(text: str) -> None:
    assert masked(text) == text


def test_a_spec_and_an_error_quoting_an_entry_show_no_pin() -> None:
    assert "1234" not in repr(parse_spec("modem:/dev/x?pin=1234&baud=9600"))
    assert "1234" not in repr(GatewaySpec("s", "smpp", "smpp://u:1234@h", {"password": "1234"}))
    with pytest.raises(GatewayError) as refused:
        parse_specs(["carrier-pigeon:/dev/x?pin=1234"])
    assert "pin=***" in str(refused.value) and "1234" not in str(refused.value)
