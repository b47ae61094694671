from __future__ import annotations

import pytest

from smsdesk.gateways.base import GatewayError
from smsdesk.gateways.modem import ModemGateway
from smsdesk.gateways.registry import build, parse_specs


def test_several_modems_each_its_own_gateway():
    specs = parse_specs(
        [
            "sfr=modem:/dev/serial/by-id/usb-HUAWEI_E3372-if00-port0?pin=1234&baud=9600",
            "orange=modem:/dev/ttyUSB3?smsc=+33609001390&hangup=false&report=false&health_every=30",
        ]
    )
    first, second = (build(s) for s in specs)
    assert isinstance(first, ModemGateway) and isinstance(second, ModemGateway)
    assert (first.name, first.device, first.pin, first.baud) == (
        "sfr",
        "/dev/serial/by-id/usb-HUAWEI_E3372-if00-port0",
        "1234",
        9600,
    )
    assert (second.smsc, second.hangup, second.report, second.health_every) == (
        "+33609001390",
        False,
        False,
        30.0,
    )
    assert first.batch_size == second.batch_size == 1  # one message at a time


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("modem", "say which port"),
        ("modem:/dev/ttyUSB0?pin=12", "pin is 4 to 8 digits"),
        ("modem:/dev/ttyUSB0?baud=fast", "invalid literal"),
        ("modem:/dev/ttyUSB0?hangup=maybe", "hangup is true or false"),
        ("modem:/dev/ttyUSB0?colour=blue", "unknown option"),
    ],
)
def test_bad_entries_say_what_to_fix(entry, says):
    [spec] = parse_specs([entry])
    with pytest.raises(GatewayError, match=says):
        build(spec)
