"""The `smsdesk` command itself: its overview, --help on each command, exit codes."""

from __future__ import annotations

import pytest

from smsdesk.cli import OWN_COMMANDS, main


def test_the_overview_lists_our_commands_first(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: smsdesk COMMAND")
    for name in OWN_COMMANDS:
        assert f"\n  {name} " in out
    assert "smsdesk help --all" in out and "createsuperuser" not in out


@pytest.mark.parametrize("name", OWN_COMMANDS)
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: smsdesk {name}")


def test_an_unknown_command_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sned"])
    assert exit_.value.code == 1
    assert "Unknown command: 'sned'" in capsys.readouterr().err


def test_a_missing_argument_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["send", "--to", "0612345678"])
    assert exit_.value.code == 2
    assert "--text" in capsys.readouterr().err
