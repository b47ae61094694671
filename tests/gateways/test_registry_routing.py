"""SMSDESK_GATEWAYS' routing options: every kind takes them, a wrong one stops the start."""

from __future__ import annotations

import pytest

from smsdesk.gateways import registry
from smsdesk.gateways.base import GatewayError
from smsdesk.sms.routing import Period


def test_every_kind_takes_the_routing_options() -> None:
    specs = registry.parse_specs(
        [
            "free=simulator?priority=2&limit_day=500&limit_month=10000&failover=true&delivery_delay=0",
            "op=smpp://me:pw@127.0.0.1:2775?source=MYSHOP&priority=9",
        ]
    )
    free, op = specs
    assert free.routing.priority == 2 and free.routing.failover
    assert dict(free.routing.limits) == {Period.DAY: 500, Period.MONTH: 10000}
    assert "limit_day" not in free.options
    registry.build(free)  # the simulator refuses unknown options: these are not its own
    assert op.routing.sender == "MYSHOP" and op.options["source"] == "MYSHOP"
    registry.build(op)


def test_a_wrong_routing_option_names_the_line_and_hides_secrets() -> None:
    with pytest.raises(GatewayError) as e:
        registry.parse_spec("op=smpp://me:secret@127.0.0.1?priority=top")
    assert "priority must be a whole number" in str(e.value)
    assert "secret" not in str(e.value)
