"""The AT command layer (3GPP TS 27.007 / 27.005) over one serial port.

A reader thread owns the port's input. It cuts it into lines and sorts each one:
- the echo of the command we just wrote (modems echo until ATE0, and some after it);
- unsolicited result codes (URCs: +CMTI, +CMT + its PDU line, +CDS, +CDSI, RING, +CLIP,
  +CREG, and vendor noise such as Huawei's ^RSSI or Quectel's +QIND), handed to `on_urc`
  WHEREVER they arrive, including between a command's echo and its answer;
- the answer lines of the pending command, its PDU lines, and its final result code;
- the `> ` prompt of AT+CMGS, which has no line end.
Only one command is in flight at a time (`_lock`); callers in other threads wait their turn.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import serial

log = logging.getLogger(__name__)

CTRL_Z = b"\x1a"
ESC = b"\x1b"

# Lines that are never the answer of a command unless that command asked for that prefix.
URC_PREFIXES = (
    "+CMTI:",
    "+CMT:",
    "+CDS:",
    "+CDSI:",
    "+CBM:",
    "RING",
    "+CRING:",
    "+CLIP:",
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+CUSD:",
    "+CIEV:",
    "+CPIN:",  # SIMCom/Quectel announce "+CPIN: READY" on their own after boot
    "+CFUN:",
    "+QIND:",
    "+PACSP",
    "+STIN:",
    "^",  # Huawei: ^RSSI, ^BOOT, ^MODE, ^SRVST, ^SIMST, ^HCSQ, ...
    "NO CARRIER",
    "RDY",
    "CALL READY",
    "SMS READY",
    "PB DONE",
)
URCS_WITH_PDU = ("+CMT:", "+CDS:")  # the next line is the PDU, part of the same URC
ANSWERS_WITH_PDU = ("+CMGR:", "+CMGL:")
_FINAL_ERROR = re.compile(r"^\+(CMS|CME) ERROR:\s*(.*)$")
# Commands whose arguments are a secret (the SIM's PIN or PUK): never in an error or a log line.
_SECRET_ARGUMENTS = re.compile(r"(\+(?:CPIN2?|CPWD|CLCK)=).*", re.IGNORECASE)


def shown(command: str) -> str:
    """`command` as errors and logs say it: AT+CPIN="***" for AT+CPIN="1234"."""
    return _SECRET_ARGUMENTS.sub(r'\1"***"', command)


class ATError(Exception):
    """Anything that went wrong talking to the modem."""


class LinkDown(ATError):
    """The port failed or vanished (device unplugged)."""


class NoAnswer(ATError):
    """The modem said nothing within the time allowed."""


class NoPrompt(ATError):
    """AT+CMGS got neither the `> ` prompt nor an error: nothing of the message was written."""


class MaybeSent(ATError):
    """The PDU was written but no +CMGS came back: the message may have gone."""


class CommandError(ATError):
    """The modem answered ERROR, +CMS ERROR: n or +CME ERROR: n."""

    def __init__(self, command: str, kind: str, code: int | None, line: str) -> None:
        command = shown(command)
        super().__init__(f"{command}: {line}")
        self.command = command
        self.kind = kind  # "CMS", "CME" or "" for a bare ERROR
        self.code = code
        self.line = line


@dataclass(frozen=True, slots=True)
class Urc:
    line: str
    pdu: str = ""  # +CMT and +CDS carry their PDU on the next line

    @property
    def name(self) -> str:
        return self.line.split(":", 1)[0].strip().upper()

    @property
    def value(self) -> str:
        return self.line.split(":", 1)[1].strip() if ":" in self.line else ""


@dataclass
class _Pending:
    command: str
    prefix: str | None  # answer lines start with it; None: no answer line expected
    raw: bool  # unprefixed lines are the answer (AT+CGMI, AT+CGSN, ...)
    wants_prompt: bool = False
    lines: list[str] = field(default_factory=list)
    final: str = ""
    prompted: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    expect_pdu: bool = False
    echo_payload: str = ""


class ATChannel:
    """One open serial port speaking AT. Thread-safe: commands are serialised."""

    def __init__(
        self,
        port: serial.Serial,
        *,
        on_urc: Callable[[Urc], None],
        on_link_down: Callable[[str], None],
        timeout: float = 10.0,
    ) -> None:
        self.port = port
        self.on_urc = on_urc
        self.on_link_down = on_link_down
        self.timeout = timeout
        self._lock = threading.Lock()  # one command at a time
        self._state = threading.Lock()  # guards _pending and the reader's line state
        self._pending: _Pending | None = None
        self._urc_header = ""  # a +CMT/+CDS line waiting for its PDU line
        self._closed = threading.Event()
        self.down_reason = ""
        self._reader = threading.Thread(target=self._read_loop, name="modem-reader", daemon=True)
        self._reader.start()

    @classmethod
    def open(
        cls,
        device: str,
        *,
        baud: int,
        on_urc: Callable[[Urc], None],
        on_link_down: Callable[[str], None],
        timeout: float = 10.0,
    ) -> ATChannel:
        """Open the port. Raises serial.SerialException (or OSError) as pyserial does."""
        port = serial.Serial(device, baudrate=baud, timeout=0.1, write_timeout=5, exclusive=True)
        return cls(port, on_urc=on_urc, on_link_down=on_link_down, timeout=timeout)

    @property
    def alive(self) -> bool:
        return not self._closed.is_set()

    def close(self) -> None:
        """Close the port and wait for the reader to let go of it: the port's lock is held
        as long as a thread still sits in select() on it, and a reconnection right after
        would find the port "held by another program"."""
        self._closed.set()
        with contextlib.suppress(OSError, serial.SerialException, AttributeError, TypeError):
            self.port.cancel_read()  # wakes the reader out of select()
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=2)
        with contextlib.suppress(OSError, serial.SerialException):
            self.port.close()
        self._fail_pending()

    # ------------------------------------------------------------------ commands

    def command(
        self,
        command: str,
        *,
        prefix: str | None = None,
        raw: bool = False,
        timeout: float | None = None,
    ) -> list[str]:
        """Send `command`, return its answer lines (without the final OK).

        Raises CommandError (ERROR / +CMS ERROR / +CME ERROR), NoAnswer, LinkDown."""
        with self._lock:
            pending = _Pending(command, prefix, raw)
            self._start(pending, command.encode("ascii") + b"\r")
            if not pending.done.wait(self.timeout if timeout is None else timeout):
                self._abandon(pending)
                raise NoAnswer(f"{shown(command)}: no answer")
            return self._finish(pending)

    def send_pdu(
        self, length: int, pdu_hex: str, *, prompt_timeout: float, answer_timeout: float
    ) -> int:
        """AT+CMGS=<length>, wait for `> `, write the PDU and Ctrl-Z; return the message
        reference <mr> the modem answers with +CMGS.

        Before the PDU left: raises NoPrompt, CommandError or LinkDown (nothing was sent).
        After: raises MaybeSent (no answer, link died) or CommandError (refused)."""
        with self._lock:
            command = f"AT+CMGS={length}"
            pending = _Pending(command, "+CMGS:", False, wants_prompt=True, echo_payload=pdu_hex)
            self._start(pending, command.encode("ascii") + b"\r")
            _wait_any(pending.prompted, pending.done, prompt_timeout)
            if pending.done.is_set() and not pending.prompted.is_set():
                self._finish(pending)  # raises the ERROR it got
                raise NoPrompt(f"{command}: OK without a prompt")
            if not pending.prompted.is_set():
                # ESC leaves the text-input state some modems enter without showing `>`.
                self._abandon(pending)
                self._write(ESC)
                raise NoPrompt(f"{command}: no prompt")
            try:
                self._write(pdu_hex.encode("ascii") + CTRL_Z)
            except LinkDown as e:
                raise MaybeSent(str(e)) from None
            if not pending.done.wait(answer_timeout):
                self._abandon(pending)
                raise MaybeSent(f"{command}: no answer after the PDU")
            try:
                lines = self._finish(pending)
            except LinkDown as e:
                raise MaybeSent(str(e)) from None
            try:
                return int(lines[0].split(":", 1)[1].split(",")[0])
            except (IndexError, ValueError):
                raise MaybeSent(f"{command}: answered {lines!r}") from None

    def interrupt(self) -> None:
        """ESC then CR: leaves a half-typed PDU (a stuck `>` prompt) without sending it."""
        self._write(ESC + b"\r")

    # ------------------------------------------------------------------ internals

    def _start(self, pending: _Pending, data: bytes) -> None:
        if self._closed.is_set():
            raise LinkDown(self.down_reason or "port closed")
        with self._state:
            self._pending = pending
        self._write(data)

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except (OSError, serial.SerialException) as e:
            self._link_down(f"write failed: {e}")
            raise LinkDown(self.down_reason) from None

    def _abandon(self, pending: _Pending) -> None:
        with self._state:
            if self._pending is pending:
                self._pending = None

    def _finish(self, pending: _Pending) -> list[str]:
        self._abandon(pending)
        final = pending.final
        if final == "OK":
            return pending.lines
        if final == "":
            raise LinkDown(self.down_reason or "port closed")
        match = _FINAL_ERROR.match(final)
        if match:
            kind, text = match.groups()
            code = int(text) if text.strip().isdigit() else None
            raise CommandError(pending.command, kind, code, final)
        raise CommandError(pending.command, "", None, final)

    def _fail_pending(self) -> None:
        with self._state:
            pending, self._pending = self._pending, None
        if pending is not None:
            pending.done.set()  # final "" = link down

    def _link_down(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self.down_reason = reason
        self.close()
        self.on_link_down(reason)

    def _read_loop(self) -> None:
        buffer = b""
        while not self._closed.is_set():
            try:
                chunk = self.port.read(max(1, self.port.in_waiting))
            except (OSError, serial.SerialException, TypeError, AttributeError) as e:
                # TypeError/AttributeError: pyserial's fd vanished under us in close().
                self._link_down(f"read failed: {e}")
                return
            if not chunk:
                continue
            buffer += chunk
            *lines, buffer = re.split(rb"\r\n|\r|\n", buffer)
            for raw_line in lines:
                line = raw_line.decode("ascii", "replace").strip(" \t\x00\x1a\x1b")
                if line:
                    self._on_line(line)
            if buffer.strip() == b">":
                self._on_prompt()
                buffer = b""

    def _on_prompt(self) -> None:
        with self._state:
            pending = self._pending
        if pending is not None and pending.wants_prompt:
            pending.prompted.set()
        else:
            log.debug("modem: stray prompt")

    def _on_line(self, line: str) -> None:
        urc: Urc | None = None
        with self._state:
            pending = self._pending
            upper = line.upper()
            if self._urc_header:
                urc, self._urc_header = Urc(self._urc_header, line), ""
            elif pending is not None and pending.expect_pdu:
                pending.lines.append(line)
                pending.expect_pdu = False
            elif pending is not None and (
                upper == pending.command.upper() or line == pending.echo_payload
            ):
                pass  # echo
            elif pending is not None and _is_final(upper):
                pending.final = line
                self._pending = None
                pending.done.set()
            elif pending is not None and pending.prefix and upper.startswith(pending.prefix):
                pending.lines.append(line)
                pending.expect_pdu = pending.prefix in ANSWERS_WITH_PDU
            elif upper.startswith(URCS_WITH_PDU):
                self._urc_header = line
            elif upper.startswith(URC_PREFIXES):
                urc = Urc(line)
            elif pending is not None and pending.raw:
                pending.lines.append(line)
            elif line.startswith(">") and pending is not None and pending.wants_prompt:
                pending.prompted.set()  # "> " followed by a line end on some firmwares
            else:
                log.debug("modem: ignored line %r", shown(line))  # a late echo of a PIN
        if urc is not None:
            try:
                self.on_urc(urc)
            except Exception:  # a bug in a handler must not kill the reader
                log.exception("modem: URC handler failed on %r", urc)


def _is_final(upper: str) -> bool:
    return upper in ("OK", "ERROR") or upper.startswith(("+CMS ERROR:", "+CME ERROR:"))


def _wait_any(a: threading.Event, b: threading.Event, timeout: float) -> bool:
    """Wait until either event is set (short polls: the prompt comes within a second)."""
    deadline = time.monotonic() + timeout
    while not (a.is_set() or b.is_set()):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        a.wait(min(0.005, left))
    return True
