"""Modem driver benchmark: how much the driver adds to the modem's own time per SMS.

Each modem is the AT emulator of the tests (tests/gateways/modem/emulator.py) on its own
pseudo-terminal, answering AT+CMGS `--delay` seconds after the PDU (a real network takes 2 to
5 s). Each modem's gateway sends `--messages` single-part SMS one after the other, as the
worker would; several modems send in parallel, each from its own thread. The efficiency is
the ideal time (messages x delay) over the measured time: 100 % means the driver adds
nothing to the modem's round trip. Usage:

    .venv/bin/python bench/modem_driver.py                      # 3 s per SMS, 1 and 4 modems
    .venv/bin/python bench/modem_driver.py --delay 0.2 --messages 50
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import _setup  # noqa: F401 - the checkout on sys.path, for tests' modem emulator

from smsdesk.gateways.base import OutboundSMS, Outcome
from smsdesk.gateways.modem import ModemGateway
from tests.gateways.modem.emulator import ModemEmulator


def run(modems: int, messages: int, delay: float) -> list[float]:
    """Seconds each modem took to send its messages."""
    directory = Path(tempfile.mkdtemp(prefix="smsdesk-bench-modem-"))
    emulators = [
        ModemEmulator(directory, name=f"ttyUSB{i}", cmgs_delay=delay, profile="huawei")
        for i in range(modems)
    ]
    gateways = [ModemGateway(f"modem{i}", e.path) for i, e in enumerate(emulators)]
    for gateway in gateways:
        gateway.start(lambda event: None)
    elapsed = [0.0] * modems
    start = threading.Barrier(modems)

    def send_all(i: int) -> None:
        start.wait()
        began = time.perf_counter()
        for n in range(messages):
            [result] = gateways[i].send_many([OutboundSMS(n, "+33612345678", f"Message {n}")])
            assert result.outcome is Outcome.ACCEPTED, result
        elapsed[i] = time.perf_counter() - began

    threads = [threading.Thread(target=send_all, args=(i,)) for i in range(modems)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for gateway, emulator in zip(gateways, emulators, strict=True):
        gateway.stop()
        assert len(emulator.submitted) == messages  # each sent once
        emulator.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay", type=float, default=3.0, help="seconds before +CMGS")
    parser.add_argument("--messages", type=int, default=5, help="SMS per modem")
    parser.add_argument("--modems", default="1,4", help="comma-separated modem counts")
    args = parser.parse_args()
    print(f"AT+CMGS answered after {args.delay} s; {args.messages} SMS per modem")
    print("modems | per modem: SMS/s | overhead per SMS | efficiency (worst modem) | total SMS/s")
    for modems in (int(m) for m in args.modems.split(",")):
        elapsed = run(modems, args.messages, args.delay)
        worst = max(elapsed)
        ideal = args.messages * args.delay
        overhead_ms = (worst - ideal) / args.messages * 1000
        print(
            f"{modems:>6} | {args.messages / worst:>17.3f} | {overhead_ms:>13.1f} ms"
            f" | {100 * ideal / worst:>23.2f} % | {modems * args.messages / worst:>10.3f}"
        )


if __name__ == "__main__":
    main()
