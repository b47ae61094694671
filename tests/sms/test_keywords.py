from __future__ import annotations

import pytest

from smsdesk.sms.keywords import is_opt_in, is_opt_out


@pytest.mark.parametrize(
    "body", ["STOP", " stop ", "Stop.", "STOP!", "arrêt", "Stop SMS", "STOP\n"]
)
def test_opt_out_keywords(body: str) -> None:
    assert is_opt_out(body)


@pytest.mark.parametrize("body", ["stop please", "Don't stop", "STOPPER", "", "non merci stop"])
def test_stop_inside_a_message_is_not_an_opt_out(body: str) -> None:
    assert not is_opt_out(body)


def test_opt_in() -> None:
    assert is_opt_in("START") and not is_opt_in("STOP")
