"""An AT modem on a pseudo-terminal, for the modem gateway's scenario tests and benchmark.

It behaves like the USB modems people plug in, not like our driver expects:
- echo ON after power-up and after ATZ, until ATE0; commands end at CR; answers framed
  "\\r\\n...\\r\\n"; the AT+CMGS prompt is "> " with no line end; ESC cancels the input;
- the SIM may ask for a PIN, counts wrong tries (locked after three: PUK) and is busy for a
  moment after a right one (+CME ERROR: 14), then announces itself (SIMCom: +CPIN: READY,
  SMS Ready);
- received SMS are stored in the SIM (+CMTI), or held by the "network" while the SIM is full
  and delivered when a slot frees; status reports come as +CDS (SIMCom), stored in "SR"
  (+CDSI, Quectel) or in the SIM (Huawei);
- vendor noise (Huawei ^RSSI / ^BOOT, Quectel +QIND) and URCs injected at awkward moments:
  between a command's echo and its answer, between answer lines, during the +CMGS wait;
- calls ring (RING, +CLIP) every `ring_every` seconds until ATH or the caller gives up;
- failures on demand: +CMS ERROR for the next sends, no prompt, no answer after the PDU,
  total silence for a while, the device unplugged and plugged back (a new pty behind the
  same path, like /dev/serial/by-id/...).

PDUs are decoded and built with python-gammu, independently of our codec. `submitted` holds
every SMS-SUBMIT the modem accepted (count them: nothing sent twice).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import gammu

# GSM 03.38 default alphabet and extension table (gammu replaces anything else silently).
GSM_CHARACTERS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "\f^{}\\[~]|€"
)

PROFILES = {
    "huawei": {
        "maker": "huawei",
        "model": "E3372",
        "revision": "22.323.62.00.143",
        "imei": "861234567890123",
        "report_mode": "stored_sm",  # +CDSI: "SM",n
        "empty_read": "ok",  # AT+CMGR on an empty slot: plain OK
        "pin_query": "^CPIN",
        "noise": "^RSSI:17",
    },
    "simcom": {
        "maker": "SIMCOM_Ltd",
        "model": "SIMCOM_SIM800L",
        "revision": "Revision:1418B04SIM800L24",
        "imei": "869876543210987",
        "report_mode": "direct",  # +CDS: <len>\r\n<pdu>
        "empty_read": "error",
        "pin_query": "CPINR",
        "noise": '+CIEV: 10,"20801","Orange F","Orange F", 0, 0',
    },
    "quectel": {
        "maker": "Quectel",
        "model": "EC25",
        "revision": "EC25EFAR06A06M4G",
        "imei": "866123456789012",
        "report_mode": "stored_sr",  # +CDSI: "SR",n
        "empty_read": "error",
        "pin_query": "QPINC",
        "noise": "+QIND: SMS DONE",
    },
}


@dataclass
class Submitted:
    """One SMS-SUBMIT the modem accepted, as python-gammu reads it."""

    mr: int
    number: str
    udh: dict
    report: bool
    pdu: str
    decoded: dict


@dataclass
class Script:
    """What goes wrong next. Lists are consumed one item per AT+CMGS."""

    cms_errors: list[str] = field(default_factory=list)  # "+CMS ERROR: 38" after the PDU
    no_prompt: int = 0  # this many AT+CMGS get no prompt at all
    swallow_pdu: int = 0  # this many PDUs get no answer
    silent_until: float = 0.0  # monotonic time until which nothing is answered
    pin_answer: str = ""  # AT+CPIN="…" answered this (e.g. "+CME ERROR: 100"), the PIN unread
    inside_answers: collections.deque = field(default_factory=collections.deque)


class ModemEmulator:
    def __init__(
        self,
        directory: Path,
        *,
        profile: str = "huawei",
        pin: str | None = None,
        pin_tries: int = 3,
        capacity: int = 20,
        cmgs_delay: float = 0.02,
        answer_delay: float = 0.001,
        ring_every: float = 0.3,
        report_delay: float = 0.05,
        reports_delivered: bool = True,
        name: str = "ttyUSB0",
    ) -> None:
        self.profile = PROFILES[profile]
        self.path = str(directory / name)  # a stable name, like /dev/serial/by-id/...
        self.pin = pin
        self.pin_tries = pin_tries
        self.pin_attempts: list[str] = []  # every PIN the host sent
        self.capacity = capacity
        self.cmgs_delay = cmgs_delay
        self.answer_delay = answer_delay
        self.ring_every = ring_every
        self.report_delay = report_delay
        self.reports_delivered = reports_delivered
        self.script = Script()
        self.submitted: list[Submitted] = []
        self.commands: list[str] = []  # every command line received, in order
        self.sim: dict[int, tuple[int, str]] = {}  # index -> (stat, PDU hex), "SM"
        self.sr: dict[int, tuple[int, str]] = {}  # Quectel's status-report memory
        self.network_queue: collections.deque[str] = collections.deque()  # held while full
        self.deleted: list[tuple[str, int]] = []
        self._lock = threading.RLock()  # output and state
        self._mr = 0
        self._call: dict | None = None
        self._stop = threading.Event()
        self._master = -1
        self._slave = -1
        self._thread: threading.Thread | None = None
        self._power_up()

    # ------------------------------------------------------------------ life

    def _power_up(self) -> None:
        self.echo = True
        self.pdu_mode = False
        self.cnmi = (0, 0, 0, 0, 0)
        self.clip = False
        self.mem = "SM"
        self.sim_ready = self.pin is None and self.pin_tries > 0
        self.sim_busy_until = 0.0
        self._in_pdu: tuple[int, bytearray] | None = None
        self._buffer = b""
        master, slave = os.openpty()
        tty.setraw(slave)  # no line discipline echo before the host opens the port
        self._master, self._slave = master, slave
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.symlink(os.ttyname(slave), self.path)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="emulator", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.unplug()

    def unplug(self) -> None:
        """The USB device goes away: its port vanishes and the host's reads fail."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def plug(self) -> None:
        """The device comes back (powered up again: echo on, SIM asks its PIN again)."""
        self._power_up()
        self._send_lines(["^BOOT:1234,0,0,0,0"] if self.profile["maker"] == "huawei" else ["RDY"])

    # ------------------------------------------------------------------ the network side

    def deliver(self, sender: str, text: str, *, order: list[int] | None = None) -> list[str]:
        """An SMS arrives (several parts for a long text, in `order` 0-based)."""
        unicode = any(c not in GSM_CHARACTERS for c in text)
        parts = gammu.EncodeSMS(
            {
                "Class": -1,
                "Unicode": unicode,
                "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}],
            }
        )
        pdus = []
        for m in parts:
            m["Number"] = sender
            m["SMSC"] = {"Location": 1, "Number": "+33609001390"}
            m["Type"] = "Deliver"
            m["DateTime"] = datetime(2026, 11, 25, 10, 30, 0)
            pdus.append(gammu.EncodePDU(m, "Deliver").hex().upper())
        for i in order if order is not None else range(len(pdus)):
            self.deliver_pdu(pdus[i])
        return pdus

    def deliver_pdu(self, pdu: str) -> None:
        with self._lock:
            index = self._free_slot(self.sim)
            if index is None:
                self.network_queue.append(pdu)  # the network retries later
                return
            self.sim[index] = (0, pdu)
            if self.cnmi[1] in (1, 2):
                self._send_lines([f'+CMTI: "SM",{index}'])

    def ring(self, caller: str, *, rings: int = 5) -> None:
        """An incoming call: RING (+CLIP when enabled) every `ring_every` s."""
        with self._lock:
            self._call = {"caller": caller, "left": rings, "answered": False, "hung_up": False}
        threading.Thread(target=self._ringing, daemon=True).start()

    def inject(self, *lines: str) -> None:
        self._send_lines(list(lines))

    def sent_texts(self) -> list[str]:
        """The texts of the messages sent, their parts joined by python-gammu."""
        texts = []
        for linked in gammu.LinkSMS([[s.decoded] for s in self.submitted]):
            joined = gammu.DecodeSMS(linked)
            texts.append(joined["Entries"][0]["Buffer"] if joined else linked[0]["Text"])
        return texts

    def messages_left(self) -> int:
        with self._lock:
            return len(self.sim) + len(self.sr) + len(self.network_queue)

    @property
    def call_hung_up(self) -> bool:
        return bool(self._call and self._call["hung_up"])

    # ------------------------------------------------------------------ port I/O

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self._master, 4096)
            except OSError:
                return
            if data:
                self._received(data)

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._master < 0:
                return
            with contextlib.suppress(OSError):
                os.write(self._master, data)

    def _send_lines(self, lines: list[str]) -> None:
        if not lines or self._master < 0:
            return
        self._write(b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines))

    def _received(self, data: bytes) -> None:
        if time.monotonic() < self.script.silent_until:
            return  # hung: says nothing, forgets what it was told
        if self.echo and self._in_pdu is None:
            self._write(data)  # a real modem echoes each character as it comes
        self._buffer += data
        while self._buffer:
            if self._in_pdu is not None:
                if not self._pdu_input():
                    return
                continue
            if b"\r" not in self._buffer:
                if b"\x1b" in self._buffer:
                    self._buffer = self._buffer.replace(b"\x1b", b"")
                return
            line, self._buffer = self._buffer.split(b"\r", 1)
            command = line.replace(b"\n", b"").replace(b"\x1b", b"").decode("ascii", "replace")
            command = command.strip()
            if not command:
                continue
            self.commands.append(command)
            time.sleep(self.answer_delay)
            self._answer(command)

    def _pdu_input(self) -> bool:
        assert self._in_pdu is not None
        length, collected = self._in_pdu
        for i, byte in enumerate(self._buffer):
            if byte == 0x1B:  # ESC: abandon, no message
                self._buffer = self._buffer[i + 1 :]
                self._in_pdu = None
                self._send_lines(["OK"])
                return True
            if byte == 0x1A:
                self._buffer = self._buffer[i + 1 :]
                self._in_pdu = None
                if self.echo:
                    self._write(bytes(collected))
                self._submit(length, collected.decode("ascii", "replace").strip())
                return True
            collected.append(byte)
        self._buffer = b""
        return False

    # ------------------------------------------------------------------ commands

    def _final(self, lines: list[str], final: str = "OK") -> None:
        # Scripted URCs land between the echo and the answer, and between answer lines.
        out: list[str] = []
        for line in [*lines, final]:
            if self.script.inside_answers:
                out.append(self.script.inside_answers.popleft())
            out.append(line)
        self._send_lines(out)

    def _answer(self, command: str) -> None:
        up = command.upper()
        sim_error = self._sim_error(up)
        if up in ("AT", "ATE1", "AT+CMEE=1", "AT+CMEE=2", "AT+CREG=0", "AT+CREG=1"):
            self.echo = self.echo if up != "ATE1" else True
            self._final([])
        elif up == "ATZ":
            self.echo = True
            self.pdu_mode = False
            self._final([])
        elif up == "ATE0":
            self.echo = False
            self._final([])
        elif up == "AT+CGMI":
            self._final([self.profile["maker"]])
        elif up == "AT+CGMM":
            self._final([self.profile["model"]])
        elif up == "AT+CGMR":
            self._final([self.profile["revision"]])
        elif up == "AT+CGSN":
            self._final([self.profile["imei"]])
        elif up == "AT+CPIN?":
            self._cpin_query()
        elif up.startswith("AT+CPIN="):
            self._enter_pin(command.split("=", 1)[1].strip().strip('"'))
        elif up == 'AT+CPINR="SIM PIN"' and self.profile["pin_query"] == "CPINR":
            self._final([f"+CPINR: SIM PIN,{self.pin_tries},3"])
        elif up == 'AT+QPINC="SC"' and self.profile["pin_query"] == "QPINC":
            self._final([f'+QPINC: "SC",{self.pin_tries},10'])
        elif up == "AT^CPIN?" and self.profile["pin_query"] == "^CPIN":
            code = "READY" if self.sim_ready else "SIM PIN"
            self._final([f"^CPIN: {code},{self.pin_tries},10,{self.pin_tries},10,3"])
        elif sim_error:
            self._final([], sim_error)
        elif up == "AT+CMGF=0":
            self.pdu_mode = True
            self._final([])
        elif up == "AT+CSMS?":
            self._final(["+CSMS: 0,1,1,1"])
        elif up == "AT+CSCA?":
            self._final(['+CSCA: "+33609001390",145'])
        elif up.startswith("AT+CPMS="):
            self._cpms(up)
        elif up == "AT+CPMS?":
            mem, store = self.mem, self._memory(self.mem)
            used = f'"{mem}",{len(store)},{self.capacity}'
            self._final([f"+CPMS: {used},{used},{used}"])
        elif up.startswith("AT+CNMI="):
            self._cnmi(up)
        elif up == "AT+CLIP=1":
            self.clip = True
            self._final([])
        elif up == "AT+CSQ":
            self._final(["+CSQ: 18,99"])
        elif up == "AT+CREG?":
            self._final(["+CREG: 0,1"])
        elif up == "AT+COPS?":
            self._final(['+COPS: 0,0,"Orange F",7'])
        elif up.startswith("AT+CMGL="):
            self._cmgl()
        elif up.startswith("AT+CMGR="):
            self._cmgr(int(up.split("=")[1]))
        elif up.startswith("AT+CMGD="):
            self._cmgd(int(up.split("=")[1].split(",")[0]))
        elif up.startswith("AT+CMGS="):
            self._cmgs(int(up.split("=")[1]))
        elif up in ("ATH", "AT+CHUP"):
            if self._call:
                self._call["hung_up"] = True
            self._final([])
        elif up == "AT+CNMA":
            self._final([])
        else:
            self._final([], "ERROR")

    def _sim_error(self, up: str) -> str:
        needs_sim = up.startswith(("AT+CMG", "AT+CPMS", "AT+CNMI", "AT+CSCA"))
        if not needs_sim:
            return ""
        if self.pin_tries <= 0:
            return "+CME ERROR: 12"
        if not self.sim_ready:
            return "+CMS ERROR: 311"
        if time.monotonic() < self.sim_busy_until:
            return "+CMS ERROR: 314"
        return ""

    def _cpin_query(self) -> None:
        if time.monotonic() < self.sim_busy_until:
            self._final([], "+CME ERROR: 14")
        elif self.pin_tries <= 0:
            self._final(["+CPIN: SIM PUK"])
        elif not self.sim_ready:
            self._final(["+CPIN: SIM PIN"])
        else:
            self._final(["+CPIN: READY"])

    def _enter_pin(self, pin: str) -> None:
        self.pin_attempts.append(pin)
        if self.script.pin_answer:
            self._final([], self.script.pin_answer)
        elif self.sim_ready or self.pin_tries <= 0:
            self._final([], "+CME ERROR: 3")
        elif pin != self.pin:
            self.pin_tries -= 1
            self._final([], "+CME ERROR: 16" if self.pin_tries else "+CME ERROR: 12")
        else:
            self.pin_tries = 3
            self.sim_ready = True
            self.sim_busy_until = time.monotonic() + 0.2  # the SIM loads its files
            self._final([])
            if self.profile["maker"].startswith("SIMCOM"):
                threading.Timer(0.05, self._send_lines, (["+CPIN: READY", "SMS Ready"],)).start()

    def _memory(self, mem: str) -> dict[int, tuple[int, str]]:
        return self.sr if mem == "SR" else self.sim

    def _cpms(self, up: str) -> None:
        mems = re.findall(r'"(\w+)"', up)
        if (
            not mems
            or mems[0] not in ("SM", "SR")
            or (mems[0] == "SR" and self.profile["report_mode"] != "stored_sr")
        ):
            self._final([], "+CMS ERROR: 302")
            return
        self.mem = mems[0]
        store = self._memory(self.mem)
        self._final([f"+CPMS: {len(store)},{self.capacity},{len(self.sim)},{self.capacity}"])

    def _cnmi(self, up: str) -> None:
        values = tuple(int(v or 0) for v in up.split("=", 1)[1].split(","))
        ds = values[3] if len(values) > 3 else 0
        mode = self.profile["report_mode"]
        if (ds == 2 and mode == "direct") or (ds == 1 and mode != "direct"):
            self._final([], "+CMS ERROR: 303")
            return
        self.cnmi = (*values, 0, 0, 0, 0, 0)[:5]
        self._final([])

    def _cmgl(self) -> None:
        store = self._memory(self.mem)
        lines = []
        for index, (stat, pdu) in sorted(store.items()):
            lines += [f"+CMGL: {index},{stat},,{len(pdu) // 2 - 1 - int(pdu[:2], 16)}", pdu]
            if stat == 0:
                store[index] = (1, pdu)
        self._final(lines)

    def _cmgr(self, index: int) -> None:
        store = self._memory(self.mem)
        if index not in store:
            if self.profile["empty_read"] == "ok":
                self._final([])
            else:
                self._final([], "+CMS ERROR: 321")
            return
        stat, pdu = store[index]
        store[index] = (1 if stat == 0 else stat, pdu)
        self._final([f"+CMGR: {stat},,{len(pdu) // 2 - 1 - int(pdu[:2], 16)}", pdu])

    def _cmgd(self, index: int) -> None:
        store = self._memory(self.mem)
        if index not in store:
            self._final([], "+CMS ERROR: 321")
            return
        del store[index]
        self.deleted.append((self.mem, index))
        self._final([])
        if self.network_queue and self.mem == "SM":  # a slot freed: the network retries
            threading.Timer(0.01, self.deliver_pdu, (self.network_queue.popleft(),)).start()

    def _cmgs(self, length: int) -> None:
        if not self.pdu_mode:
            self._final([], "+CMS ERROR: 302")
            return
        if self.script.no_prompt:
            self.script.no_prompt -= 1
            return  # hung half-way: no prompt, no answer
        self._in_pdu = (length, bytearray())
        self._write(b"\r\n> ")

    def _submit(self, length: int, pdu_hex: str) -> None:
        try:
            raw = bytes.fromhex(pdu_hex)
            if len(raw) - 1 - raw[0] != length:
                raise ValueError("length mismatch")
            decoded = gammu.DecodePDU(raw, True)
        except (ValueError, gammu.GSMError):
            self._final([], "+CMS ERROR: 304")
            return
        if self.script.swallow_pdu:
            self.script.swallow_pdu -= 1
            return
        time.sleep(self.cmgs_delay)  # the network takes its time; the modem answers nothing
        if self.script.cms_errors:
            self._final([], self.script.cms_errors.pop(0))
            return
        self._mr = (self._mr + 1) % 256
        mr = self._mr
        first = raw[1 + raw[0]]
        report = bool(first & 0x20)
        self.submitted.append(
            Submitted(mr, decoded["Number"], decoded["UDH"], report, pdu_hex, decoded)
        )
        self._final([f"+CMGS: {mr}"])
        if report and self.cnmi[3]:
            threading.Timer(self.report_delay, self._status_report, (mr, decoded["Number"])).start()

    def _status_report(self, mr: int, number: str) -> None:
        pdu = status_report_pdu(mr, number, 0x00 if self.reports_delivered else 0x41)
        mode = self.profile["report_mode"]
        with self._lock:
            if self._master < 0:
                return
            if mode == "direct":
                self._send_lines([f"+CDS: {len(pdu) // 2 - 1}", pdu])
                return
            store, name = (self.sr, "SR") if mode == "stored_sr" else (self.sim, "SM")
            index = self._free_slot(store)
            if index is None:
                return
            store[index] = (0, pdu)
            self._send_lines([f'+CDSI: "{name}",{index}'])

    def _ringing(self) -> None:
        while True:
            with self._lock:
                call = self._call
                if call is None or call["hung_up"] or call["left"] <= 0:
                    return
                call["left"] -= 1
                lines = ["RING"]
                if self.clip:
                    lines.append(f'+CLIP: "{call["caller"]}",145,,,,0')
                self._send_lines(lines)
            time.sleep(self.ring_every)

    def _free_slot(self, store: dict[int, tuple[int, str]]) -> int | None:
        for index in range(self.capacity):
            if index not in store:
                return index
        return None


def _semi_octets(digits: str) -> str:
    digits += "F" * (len(digits) % 2)
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def status_report_pdu(mr: int, number: str, status: int) -> str:
    """An SMS-STATUS-REPORT as the network sends it (TS 23.040 §9.2.2.3), no SMSC part."""
    digits = number.lstrip("+")
    address = f"{len(digits):02X}{'91' if number.startswith('+') else '81'}{_semi_octets(digits)}"
    stamp = _semi_octets("261125103000") + "00"
    return f"0006{mr:02X}{address}{stamp}{stamp}{status:02X}"
