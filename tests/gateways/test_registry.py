"""SMSDESK_GATEWAYS: one line per gateway, and a clear message for a mistake."""

from __future__ import annotations

import pytest

from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.registry import GatewaySpec, build, parse_spec, parse_specs
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
