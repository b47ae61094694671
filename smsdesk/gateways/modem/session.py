"""What one open modem can do, in AT commands: set it up, send a PDU, read and delete stored
messages, tell its signal and operator. No threads of its own and no policy (retries,
reconnection and events are the gateway's); every method may raise the errors of `at`."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

from smsdesk.gateways.modem.at import ATChannel, CommandError, NoAnswer

log = logging.getLogger(__name__)


class SetupError(Exception):
    """The modem cannot be set up; `retry` tells whether waiting can help (no SIM yet)
    or not (wrong PIN: never spend another try of the SIM's three)."""

    def __init__(self, reason: str, *, retry: bool, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason  # one of errors.REASONS / CME reasons (English, translatable)
        self.retry = retry
        self.detail = detail  # technical detail for the log


@dataclass(frozen=True, slots=True)
class Stored:
    """A message kept in the modem's memory: `stat` 0 unread, 1 read, 2/3 outgoing."""

    storage: str
    index: int
    stat: int
    pdu: str


@dataclass
class Identity:
    maker: str = ""
    model: str = ""
    revision: str = ""
    imei: str = ""
    sim: str = ""  # "ready", "PIN needed", ...


@dataclass
class Setup:
    """What the init sequence found out."""

    identity: Identity = field(default_factory=Identity)
    storage: str = "SM"
    used: int = 0
    total: int = 0
    reports: str = ""  # "stored" (+CDSI), "direct" (+CDS) or "" (none)
    cnma_required: bool = False
    smsc: str = ""


@dataclass(frozen=True, slots=True)
class Signal:
    registered: bool
    registration: str  # "home", "roaming", "searching", "denied", "not registered", ...
    signal_percent: int | None
    operator: str


_REGISTRATION = {
    "0": "not registered",
    "1": "home",
    "2": "searching",
    "3": "denied",
    "4": "unknown",
    "5": "roaming",
}


class Session:
    def __init__(self, channel: ATChannel) -> None:
        self.at = channel
        self.storage = "SM"  # the memory AT+CMGR/AT+CMGD work on now (CPMS <mem1>)

    # ------------------------------------------------------------------ set-up

    def wake(self, tries: int = 3) -> None:
        """Get an `OK` out of the modem: leave a stuck `>` prompt, reset it, echo off."""
        for attempt in range(tries):
            try:
                self.at.interrupt()
                self.at.command("AT", timeout=min(self.at.timeout, 2.0))
                break
            except NoAnswer:
                if attempt == tries - 1:
                    raise
        self._optional("ATZ")
        self.at.command("ATE0")
        # Numeric error codes: they map to reasons whatever the modem's language.
        self._optional("AT+CMEE=1")

    def unlock(self, pin: str, *, pin_rejected_before: bool, sim_wait: float) -> bool:
        """Make the SIM ready, sending `pin` at most once. Returns True when the PIN was sent.

        Never sends a PIN that the SIM refused before, nor one when the SIM has already
        lost a try (someone typed a wrong one): three wrong PINs lock the SIM."""
        state = self.sim_state(sim_wait)
        if state == "READY":
            return False
        if state == "SIM PIN":
            if not pin:
                raise SetupError("the SIM asks for a PIN: add pin=... to the gateway", retry=False)
            if pin_rejected_before:
                raise SetupError("wrong PIN", retry=False, detail="not sent again")
            left = self.pin_tries_left()
            if left is not None and left < 3:
                raise SetupError(
                    "wrong PIN", retry=False, detail=f"the SIM has {left} tries left: not spent"
                )
            try:
                self.at.command(f'AT+CPIN="{pin}"', timeout=max(self.at.timeout, 5.0))
            except CommandError as e:
                if e.code in (16, 12) or e.kind != "CME":
                    raise SetupError("wrong PIN", retry=False, detail=e.line) from None
                raise
            if self.sim_state(sim_wait) != "READY":
                raise SetupError("wrong PIN", retry=False, detail="SIM not ready after the PIN")
            return True
        if state in ("SIM PUK", "SIM PUK2"):
            raise SetupError("the SIM is locked: it asks for its PUK", retry=False)
        raise SetupError("the SIM card failed", retry=True, detail=state)

    def sim_state(self, wait: float) -> str:
        """+CPIN? answer ("READY", "SIM PIN", ...); waits while the SIM is busy (CME 14)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                lines = self.at.command("AT+CPIN?", prefix="+CPIN:")
                return lines[-1].split(":", 1)[1].strip().strip('"').upper() if lines else ""
            except CommandError as e:
                if e.code == 10:
                    raise SetupError("no SIM card in the modem", retry=True) from None
                if e.code in (14, 515) and time.monotonic() < deadline:
                    time.sleep(0.5)  # SIM busy right after power-up or a PIN
                    continue
                if e.code == 13:
                    raise SetupError("the SIM card failed", retry=True) from None
                raise

    def pin_tries_left(self) -> int | None:
        """PIN tries the SIM has left, when the modem tells (AT+CPINR, Huawei ^CPIN,
        Quectel +QPINC); None when it does not."""
        for command, prefix, pattern in (
            ('AT+CPINR="SIM PIN"', "+CPINR:", r'"?SIM PIN"?,(\d+)'),
            ('AT+QPINC="SC"', "+QPINC:", r'"SC",(\d+)'),
            ("AT^CPIN?", "^CPIN:", r"^\^CPIN:\s*[^,]*,[^,]*,[^,]*,(\d+)"),  # <pin_times>
        ):
            try:
                lines = self.at.command(command, prefix=prefix)
            except CommandError:
                continue
            for line in lines:
                match = re.search(pattern, line)
                if match:
                    return int(match.group(1))
        return None

    def configure(self, *, reports: bool) -> Setup:
        setup = Setup()
        try:
            self.at.command("AT+CMGF=0")
        except CommandError:
            raise SetupError(
                "the modem does not support this operation", retry=False, detail="no PDU mode"
            ) from None
        try:
            csms = self.at.command("AT+CSMS?", prefix="+CSMS:")
            setup.cnma_required = bool(csms) and csms[0].split(":", 1)[1].strip()[:1] == "1"
        except CommandError:
            pass
        setup.storage, setup.used, setup.total = self.choose_storage()
        setup.reports = self.enable_indications(reports=reports)
        self._optional("AT+CLIP=1")
        self._optional("AT+CREG=0")  # registration is polled: no +CREG noise
        setup.identity = self.identity()
        setup.identity.sim = "ready"
        setup.smsc = self.smsc()
        return setup

    def choose_storage(self) -> tuple[str, int, int]:
        """SMS memory: the SIM when the modem lets us, else the modem's own."""
        for mem in ("SM", "ME", "MT"):
            try:
                lines = self.at.command(f'AT+CPMS="{mem}","{mem}","{mem}"', prefix="+CPMS:")
            except CommandError:
                continue
            self.storage = mem
            numbers = [int(n) for n in re.findall(r"\d+", lines[0])] if lines else []
            used, total = (numbers[0], numbers[1]) if len(numbers) >= 2 else (0, 0)
            return mem, used, total
        raise SetupError(
            "the modem does not support this operation", retry=False, detail="no SMS memory"
        )

    def enable_indications(self, *, reports: bool) -> str:
        """+CMTI for each new SMS (stored: deleted only after the database has it), and
        status reports stored (+CDSI) or else direct (+CDS). Modems differ: try in turn."""
        ds = ("2", "1") if reports else ("0",)
        for mode in ("2", "1"):
            for d in ds:
                try:
                    self.at.command(f"AT+CNMI={mode},1,0,{d},0")
                except CommandError:
                    continue
                return {"2": "stored", "1": "direct"}.get(d, "")
        raise SetupError(
            "the modem does not support this operation", retry=False, detail="AT+CNMI refused"
        )

    def identity(self) -> Identity:
        return Identity(
            maker=self._text("AT+CGMI"),
            model=self._text("AT+CGMM"),
            revision=self._text("AT+CGMR"),
            imei=self._text("AT+CGSN"),
        )

    def smsc(self) -> str:
        try:
            lines = self.at.command("AT+CSCA?", prefix="+CSCA:")
        except CommandError:
            return ""
        match = re.search(r'"([^"]*)"', lines[0]) if lines else None
        return match.group(1) if match else ""

    # ------------------------------------------------------------------ messages

    def send(
        self, length: int, pdu_hex: str, *, prompt_timeout: float, answer_timeout: float
    ) -> int:
        return self.at.send_pdu(
            length, pdu_hex, prompt_timeout=prompt_timeout, answer_timeout=answer_timeout
        )

    def use_storage(self, storage: str) -> None:
        """Point AT+CMGR/AT+CMGD at `storage` (status reports may sit in "SR")."""
        if storage != self.storage:
            self.at.command(f'AT+CPMS="{storage}"', prefix="+CPMS:")
            self.storage = storage

    def list_all(self, storage: str) -> list[Stored]:
        self.use_storage(storage)
        lines = self.at.command("AT+CMGL=4", prefix="+CMGL:", timeout=max(self.at.timeout, 30))
        found = []
        for header, pdu in zip(lines[::2], lines[1::2], strict=False):
            match = re.match(r"\+CMGL:\s*(\d+)\s*,\s*(\d+)", header)
            if match:
                found.append(Stored(storage, int(match.group(1)), int(match.group(2)), pdu))
        return found

    def read(self, storage: str, index: int) -> Stored | None:
        """The message at `index`, or None when the slot is empty."""
        self.use_storage(storage)
        try:
            lines = self.at.command(f"AT+CMGR={index}", prefix="+CMGR:")
        except CommandError as e:
            if e.code in (321, 320):  # invalid index / memory failure: empty slot
                return None
            raise
        if len(lines) < 2:
            return None
        match = re.match(r"\+CMGR:\s*(\d+)", lines[0])
        return Stored(storage, index, int(match.group(1)) if match else 0, lines[1])

    def delete(self, storage: str, index: int) -> None:
        self.use_storage(storage)
        try:
            self.at.command(f"AT+CMGD={index}")
        except CommandError as e:
            if e.code != 321:  # already gone: that is what we wanted
                raise

    def ack_direct(self) -> None:
        """AT+CNMA: acknowledge a message or report delivered directly (+CMT/+CDS)."""
        self._optional("AT+CNMA")

    def hang_up(self) -> None:
        try:
            self.at.command("ATH")
        except CommandError:
            self._optional("AT+CHUP")

    # ------------------------------------------------------------------ health

    def signal(self) -> Signal:
        rssi = None
        try:
            lines = self.at.command("AT+CSQ", prefix="+CSQ:")
            value = int(lines[0].split(":", 1)[1].split(",")[0]) if lines else 99
            rssi = None if value == 99 else min(100, value * 100 // 31)
        except (CommandError, ValueError):
            pass
        registration = "unknown"
        try:
            lines = self.at.command("AT+CREG?", prefix="+CREG:")
            fields = lines[-1].split(":", 1)[1].split(",") if lines else []
            stat = fields[1].strip() if len(fields) > 1 else (fields[0].strip() if fields else "")
            registration = _REGISTRATION.get(stat, "unknown")
        except CommandError:
            pass
        operator = ""
        try:
            lines = self.at.command("AT+COPS?", prefix="+COPS:")
            match = re.search(r'"([^"]*)"', lines[0]) if lines else None
            operator = match.group(1) if match else ""
        except CommandError:
            pass
        return Signal(registration in ("home", "roaming"), registration, rssi, operator)

    def memory(self) -> tuple[int, int]:
        """(used, total) of the SMS memory."""
        lines = self.at.command("AT+CPMS?", prefix="+CPMS:")
        numbers = [int(n) for n in re.findall(r",(\d+)", lines[0])] if lines else []
        return (numbers[0], numbers[1]) if len(numbers) >= 2 else (0, 0)

    # ------------------------------------------------------------------ helpers

    def _optional(self, command: str) -> bool:
        try:
            self.at.command(command)
            return True
        except CommandError:
            log.info("modem: %s not supported", command)
            return False

    def _text(self, command: str) -> str:
        try:
            lines = self.at.command(command, raw=True, prefix=command[2:] + ":")
        except CommandError:
            return ""
        text = " ".join(lines).strip()
        # Some firmwares prefix the answer: "+CGMM: E3372" -> "E3372"
        return text.split(":", 1)[1].strip() if text.upper().startswith(command[2:]) else text
