"""PDU codec benchmark: smsdesk.sms.pdu against python-gammu's C codec, in the same run.

Each side does the same job per operation, from a Python str to a Python result:

  encode  ours:  pdu.encode_submit(to, text)                  -> [SubmitPart(hex, length)]
          gammu: gammu.EncodeSMS({...text...}), then per part set Number/SMSC and
                 gammu.EncodePDU(part) -> bytes, then .hex()  (AT+CMGS is written in hex)
  decode  ours:  pdu.decode(hex)                              -> Deliver (text, aware time)
          gammu: gammu.DecodePDU(bytes.fromhex(hex), True)    -> dict (text, time)

A second gammu figure, "gammu core", times only its C entry point with the input prepared
outside the loop (EncodePDU of ready message dicts, DecodePDU of ready bytes): the least
gammu can do per message, and what the issue's "about 62,000 encodes and 85,000 decodes per
second" measured. smsdesk is compared with both.

One operation is one message (all its parts for the multipart case). The same inputs are
used for both, every round alternates the two sides (so that load from other processes
hits both alike), and the figure printed is the median of the rounds. Our codec keeps no
cache between calls. Usage:

    .venv/bin/python bench/pdu_codec.py                 # 9 rounds of 20,000 operations
    .venv/bin/python bench/pdu_codec.py --rounds 11 --operations 50000
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gammu  # noqa: E402

from smsdesk.sms import gsm7, pdu  # noqa: E402

TO, SMSC = "+33612345678", "+33609001390"
CASES = {
    "GSM-7, 1 part": (
        "Bonjour, votre rendez-vous est confirmé pour demain à 10h30 au cabinet. "
        "Répondez STOP pour ne plus recevoir."
    ),
    "UCS-2, 1 part": "Rendez-vous demain 10h30 ✅ Prêt ? Répondez OUI 👍",
    "GSM-7, 3 parts": (
        "Chers parents, la sortie au musée aura lieu jeudi prochain. Le départ se fera à 8h15 "
        "devant l'école, retour prévu vers 16h30. Merci de prévoir un pique-nique, une "
        "gourde et des vêtements adaptés à la météo. La participation de 5€ est à régler "
        "avant lundi auprès de l'enseignant de votre enfant. Pour toute question, "
        "contactez le secrétariat au 01 23 45 67 89. Bonne journée à tous !"
    ),
}


def gammu_encode(text: str) -> list[str]:
    parts = gammu.EncodeSMS(
        {
            "Class": -1,
            "Unicode": gsm7.encoding_of(text) is gsm7.Encoding.UCS2,
            "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}],
        }
    )
    out = []
    for part in parts:
        part["Number"] = TO
        part["SMSC"] = {"Location": 0, "Number": ""}
        out.append(gammu.EncodePDU(part).hex())
    return out


def gammu_prepared(text: str) -> list[dict]:
    """gammu's message dicts for `text`, ready for EncodePDU (the "core" figure)."""
    parts = gammu.EncodeSMS(
        {
            "Class": -1,
            "Unicode": gsm7.encoding_of(text) is gsm7.Encoding.UCS2,
            "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}],
        }
    )
    for part in parts:
        part["Number"] = TO
        part["SMSC"] = {"Location": 0, "Number": ""}
    return parts


def deliver_pdu(text: str) -> str:
    """A single SMS-DELIVER of `text` (the first part of it), written by gammu."""
    [first, *_] = gammu.EncodeSMS(
        {
            "Class": -1,
            "Unicode": gsm7.encoding_of(text) is gsm7.Encoding.UCS2,
            "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}],
        }
    )
    first.update(
        Number=TO,
        Type="Deliver",
        DateTime=datetime(2026, 11, 25, 15, 4, 5),
        SMSC={"Location": 0, "Number": SMSC},
    )
    return gammu.EncodePDU(first, "Deliver").hex().upper()


def rate(operation: Callable[[], object], operations: int) -> float:
    start = time.perf_counter()
    for _ in range(operations):
        operation()
    return operations / (time.perf_counter() - start)


def compare(label: str, sides: dict[str, Callable[[], object]], args: argparse.Namespace) -> None:
    """Medians of `rounds` rounds, the sides taking turns within each round."""
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, operation in sides.items():
            rates[name].append(rate(operation, args.operations))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    ours = medians["smsdesk"]
    print(f"  {label}")
    for name, median in medians.items():
        spread = f"{min(rates[name]):,.0f}-{max(rates[name]):,.0f}"
        ratio = "" if name == "smsdesk" else f"   smsdesk / {name}: {ours / median:5.2f}"
        print(f"    {name:<12} {median:>9,.0f}/s   (rounds {spread}){ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=9, help="rounds, each side timed in turn")
    parser.add_argument("--operations", type=int, default=20_000, help="per round and side")
    args = parser.parse_args()

    print(
        f"PDU codec, {args.rounds} rounds x {args.operations:,} operations per side "
        f"(median of rounds), Python {platform.python_version()}, python-gammu "
        f"{gammu.Version()[1]} (libGammu {gammu.Version()[0]})"
    )
    # Both sides must be right before their speed means anything.
    for text in CASES.values():
        ours, theirs = pdu.encode_submit(TO, text, request_report=False), gammu_encode(text)
        assert len(ours) == len(theirs) == gsm7.analyse(text).segments
        assert "".join(pdu.decode(h, outgoing=True).text for h in theirs) == text  # type: ignore[union-attr]
        hex_deliver = deliver_pdu(text)
        first_part = gsm7.split(text)[0]
        assert pdu.decode(hex_deliver).text == first_part  # type: ignore[union-attr]
        assert gammu.DecodePDU(bytes.fromhex(hex_deliver), True)["Text"] == first_part

    print("encode (text -> hex PDU of each part, as written after AT+CMGS):")
    for label, text in CASES.items():
        prepared = gammu_prepared(text)
        compare(
            label,
            {
                "smsdesk": lambda text=text: pdu.encode_submit(TO, text, request_report=False),
                "gammu": lambda text=text: gammu_encode(text),
                "gammu core": lambda prepared=prepared: [gammu.EncodePDU(m) for m in prepared],
            },
            args,
        )
    print("decode (hex SMS-DELIVER as a modem lists it -> text, sender, time):")
    for label, text in CASES.items():
        hex_deliver = deliver_pdu(text)
        raw = bytes.fromhex(hex_deliver)
        compare(
            label.replace("3 parts", "1 part of 3"),
            {
                "smsdesk": lambda h=hex_deliver: pdu.decode(h),
                "gammu": lambda h=hex_deliver: gammu.DecodePDU(bytes.fromhex(h), True),
                "gammu core": lambda raw=raw: gammu.DecodePDU(raw, True),
            },
            args,
        )


if __name__ == "__main__":
    main()
