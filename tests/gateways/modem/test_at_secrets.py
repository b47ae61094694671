"""The SIM's PIN goes to the modem and nowhere else: the AT layer's errors and log lines say
AT+CPIN="***" (tests/gateways/modem/test_secrets_masked.py checks a whole `serve` run)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from smsdesk.gateways.modem.at import ATChannel, CommandError, NoAnswer, shown
from tests.gateways.modem.emulator import ModemEmulator


@pytest.mark.parametrize(
    "command,said",
    [
        ('AT+CPIN="1234"', 'AT+CPIN="***"'),
        ('at+cpin="12345678","1234"', 'at+cpin="***"'),
        ('AT+CPIN2="1234"', 'AT+CPIN2="***"'),
        ('AT+CLCK="SC",0,"1234"', 'AT+CLCK="***"'),
        ('AT+CPWD="SC","1234","4321"', 'AT+CPWD="***"'),
        ("AT+CPIN?", "AT+CPIN?"),
        ('AT+CPINR="SIM PIN"', 'AT+CPINR="SIM PIN"'),
        ("AT+CMGS=23", "AT+CMGS=23"),
    ],
)
def test_commands_are_said_without_their_secret(command: str, said: str) -> None:
    assert shown(command) == said


def test_errors_about_the_pin_command_do_not_carry_the_pin(
    make_emulator: Callable[..., ModemEmulator], caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(pin="80594217")
    channel = ATChannel.open(emulator.path, baud=115200, on_urc=print, on_link_down=print)
    try:
        emulator.script.pin_answer = "+CME ERROR: 100"
        with pytest.raises(CommandError) as refused:
            channel.command('AT+CPIN="80594217"')
        assert refused.value.code == 100
        emulator.script.silent_until = time.monotonic() + 5  # then it hangs
        with (
            caplog.at_level(logging.DEBUG, logger="smsdesk.gateways.modem.at"),
            pytest.raises(NoAnswer) as silent,
        ):
            channel.command('AT+CPIN="80594217"', timeout=0.3)
    finally:
        channel.close()
    said = f"{refused.value} {refused.value.command} {silent.value} {caplog.text}"
    assert 'AT+CPIN="***"' in said and "80594217" not in said
