"""`smsdesk modem probe DEVICE` against the emulator and against what gets in the way."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from smsdesk.gateways.modem import probe as probe_module
from smsdesk.gateways.modem.probe import probe


def run(*args: str) -> tuple[str, str]:
    out = io.StringIO()
    try:
        call_command("modem", "probe", *args, stdout=out)
    except CommandError as e:
        return out.getvalue(), str(e)
    return out.getvalue(), ""


def test_it_prints_what_an_installer_needs(make_emulator, settings):
    settings.LANGUAGE_CODE = "en"
    emulator = make_emulator(profile="quectel", pin="1234")
    out, error = run(emulator.path, "--pin", "1234")
    assert error == ""
    for expected in (
        "Maker:          Quectel",
        "Model:          EC25",
        "IMEI:           866123456789012",
        "PIN:            accepted",
        "Operator:       Orange F",
        "Signal:         58 %",
        "SMSC:           +33609001390",
        "PDU mode:       yes",
        "SMS storage:    SM, 0 of 20 used",
        "Status reports: yes (stored, +CDSI)",
        "Diagnosis: ready for smsdesk.",
    ):
        assert expected in out
    assert emulator.pin_attempts == ["1234"]


def test_a_pin_needed_is_said_and_no_pin_is_sent(make_emulator, settings):
    settings.LANGUAGE_CODE = "en"
    emulator = make_emulator(pin="1234")
    out, error = run(emulator.path)
    assert "the SIM needs its PIN: give it with --pin" in out
    assert "not ready" in error
    assert emulator.pin_attempts == []


def test_a_wrong_pin_is_tried_once_and_the_sim_lock_is_explained(make_emulator, settings):
    settings.LANGUAGE_CODE = "en"
    emulator = make_emulator(pin="1234")
    out, _ = run(emulator.path, "--pin", "9999")
    assert "wrong PIN" in out and "a SIM locks after three wrong PINs" in out
    assert emulator.pin_attempts == ["9999"]


def test_no_device(tmp_path, settings):
    settings.LANGUAGE_CODE = "en"
    out, error = run(str(tmp_path / "ttyUSB7"))
    assert f"no device at {tmp_path / 'ttyUSB7'}" in out and "/dev/serial/by-id/" in out
    assert error


def test_a_port_held_by_another_program(make_emulator, make_gateway):
    emulator = make_emulator()
    make_gateway(emulator).start(lambda event: None)  # holds the port, like ModemManager
    report = probe(emulator.path)
    assert "held by another program" in report.text()
    assert "ModemManager" in report.text()


def test_permission_denied_names_the_group_to_join(make_emulator, monkeypatch):
    emulator = make_emulator()

    def denied(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(probe_module.ATChannel, "open", denied)
    monkeypatch.setattr(probe_module, "_group_of", lambda path: "dialout")
    text = probe(emulator.path).text()
    assert "permission denied on" in text and "sudo usermod -aG dialout $USER" in text


def test_no_sim(make_emulator, monkeypatch):
    emulator = make_emulator()
    monkeypatch.setattr(emulator, "_cpin_query", lambda: emulator._final([], "+CME ERROR: 10"))
    text = probe(emulator.path).text()
    assert "no SIM card in the modem: put a SIM card in" in text


def test_a_device_that_does_not_answer(make_emulator):
    emulator = make_emulator()
    emulator.script.silent_until = float("inf")
    text = probe(emulator.path, timeout=0.3).text()
    assert "does not answer AT commands" in text


@pytest.mark.parametrize("args", [["--pin", "12"], ["--baud", "7"]])
def test_bad_options_are_refused(args, tmp_path):
    _, error = run(str(tmp_path / "x"), *args)
    assert error
