"""`smsdesk pdu encode|decode`: what a user types, what comes out, and one line on a refusal."""

from __future__ import annotations

import json

import pytest

from smsdesk.cli import main
from smsdesk.sms import pdu

DELIVER = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
STATUS_REPORT = "079124603050020006E80C91666666666666909070618422809090706184628000"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_encode_prints_one_pdu_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    text = "Réunion à 10h {salle B} " * 14  # 3 SMS, with extension characters
    code, out, err = run(["pdu", "encode", "--to", "+33612345678", "--text", text], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("00") for line in lines)  # no SMSC given: "00" first
    decoded = [pdu.decode(line, outgoing=True) for line in lines]
    assert "".join(d.text for d in decoded) == text  # type: ignore[union-attr]
    assert not any(d.request_report for d in decoded)  # type: ignore[union-attr]


def test_encode_with_report_and_smsc(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["pdu", "encode", "--to", "0612345678", "--text", "Prêt ? 😀", "--report"]
    code, out, _ = run([*args, "--smsc", "+33609001390"], capsys)
    assert code == 0
    [line] = out.splitlines()
    assert (
        line
        == pdu.encode_submit("0612345678", "Prêt ? 😀", smsc="+33609001390", request_report=True)[
            0
        ].hex
    )
    assert line.startswith("07913306091093F0")
    decoded = pdu.decode(line, outgoing=True)
    assert decoded.request_report and decoded.encoding == "ucs2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "args,reason",
    [
        (["--to", "06 12", "--text", "x"], "'06 12' is not a phone number"),
        (["--to", "+33612345678", "--text", "x", "--smsc", "centre"], "SMSC 'centre'"),
    ],
)
def test_encode_refusals_are_one_line(
    args: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["pdu", "encode", *args], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and reason in err and "Traceback" not in err


def test_decode_prints_the_fields_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["pdu", "decode", DELIVER], capsys)
    assert code == 0
    assert json.loads(out) == {
        "type": "SMS-DELIVER",
        "smsc": "+27381000015",
        "sender": "27838890001",
        "sender_type": "unknown",
        "timestamp": "1999-03-29T15:16:59+02:00",
        "text": "hellohello",
        "encoding": "gsm7",
        "concat": None,
        "data": "",
        "status_report_requested": False,
    }


def test_decode_a_status_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["pdu", "decode", STATUS_REPORT.lower()], capsys)
    fields = json.loads(out)
    assert code == 0
    assert (fields["type"], fields["message_ref"], fields["state"]) == (
        "SMS-STATUS-REPORT",
        232,
        "delivered",
    )
    assert fields["discharge"] == "2009-09-07T16:48:26+02:00"


def test_decode_outgoing_without_smsc_and_spaced_octets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [part] = pdu.encode_submit("+33612345678", "x" * 200, concat_ref=7)[:1]
    tpdu = part.hex[2:]  # without the "00" of the SMSC
    spaced = [tpdu[i : i + 2] for i in range(0, len(tpdu), 2)]
    code, out, _ = run(["pdu", "decode", "--outgoing", "--no-smsc", *spaced], capsys)
    fields = json.loads(out)
    assert code == 0
    assert (fields["type"], fields["recipient"], fields["concat"]) == (
        "SMS-SUBMIT",
        "+33612345678",
        {"ref": 7, "total": 2, "seq": 1},
    )


@pytest.mark.parametrize(
    "args,reason",
    [
        (["zz"], "not hexadecimal"),
        ([DELIVER[:-4]], "octets short"),
        (["0011000B916407281553F80000AA0AE8329BFD4697D9EC37"], "read it as outgoing"),
        (["--outgoing", DELIVER], "not an SMS-SUBMIT"),
    ],
)
def test_decode_refusals_are_one_line(
    args: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["pdu", "decode", *args], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and reason in err and "Traceback" not in err
