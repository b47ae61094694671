"""One GSM modem as a smsdesk gateway: sends one message at a time, part by part, and turns
what the modem reports into events.

Threads: the worker calls `send_many`/`acknowledge`; the AT reader thread sorts the port's
lines; a supervisor thread (this module) connects and reconnects, reads what the URCs
announce (new SMS, status reports, calls), and polls the signal. AT commands from all of
them are serialised by the channel.

Never lost, never twice:
- a received SMS or report stays in the modem's memory until `acknowledge` (called after the
  worker's database commit) deletes it; a crash before that means it is read again at the
  next start (AT+CMGL=4). Within one run a slot already emitted is not emitted again;
- a part is written once: no `>` prompt means nothing left (NOT_HANDED_OVER); a PDU written
  with no +CMGS answer is MAYBE_HANDED_OVER, never written again by us;
- a PIN refused by the SIM is never sent again (a SIM locks after three).
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import serial

from smsdesk.gateways.base import (
    Concat,
    DeliveryState,
    EventSink,
    Gateway,
    GatewayError,
    GatewayEvent,
    GatewayUnavailable,
    Health,
    InboundSMS,
    IncomingCall,
    OutboundSMS,
    ProgressSink,
    SendResult,
    StatusReport,
)
from smsdesk.gateways.modem.at import (
    ATChannel,
    ATError,
    CommandError,
    LinkDown,
    MaybeSent,
    NoAnswer,
    NoPrompt,
    Urc,
)
from smsdesk.gateways.modem.errors import failure_for
from smsdesk.gateways.modem.session import Session, Setup, SetupError, Stored
from smsdesk.sms import pdu
from smsdesk.sms.errors import PduError

log = logging.getLogger(__name__)

NOT_ANSWERING = "the modem did not answer"
UNPLUGGED = "the modem was unplugged or its port closed"


@dataclass(frozen=True, slots=True)
class SimSlot:
    """The handle of an event read from the modem's memory: where to delete it from."""

    storage: str
    index: int
    pdu: str


@dataclass(frozen=True)
class Timeouts:
    command: float = 10.0  # any AT command
    prompt: float = 5.0  # the `> ` after AT+CMGS
    send: float = 60.0  # the +CMGS answer after the PDU (the network can take its time)
    sim: float = 20.0  # SIM busy after power-up or PIN
    reconnect_max: float = 60.0  # back-off between reconnection attempts, doubling from 1 s
    call_quiet: float = 8.0  # no RING for this long: the call is over


@dataclass
class _Call:
    started: float
    last_ring: float
    caller: str | None = None  # None until +CLIP tells (or not)
    logged: bool = False


@dataclass
class _State:
    setup: Setup | None = None
    emitted: dict[tuple[str, int], str] = field(default_factory=dict)  # slot -> PDU
    to_delete: dict[tuple[str, int], str] = field(default_factory=dict)


class ModemGateway(Gateway):
    kind = "modem"
    supports_flash = True  # TP-DCS message class 0 (sms/pdu.py)

    def __init__(
        self,
        name: str,
        device: str,
        *,
        baud: int = 115200,
        pin: str = "",
        smsc: str = "",
        hangup: bool = True,
        report: bool = True,
        health_every: float = 60.0,
        timeouts: Timeouts | None = None,
        rate: float | None = None,
    ) -> None:
        # A modem sends one message at a time: a crash leaves at most one `unknown`.
        super().__init__(name, rate=rate, batch_size=1)
        self.device = device
        self.baud = baud
        self.pin = pin
        self.smsc = smsc
        self.hangup = hangup
        self.report = report
        self.health_every = health_every
        self.timeouts = timeouts or Timeouts()
        self._session: Session | None = None
        self._state = _State()
        self._urcs: queue.Queue[Urc | None] = queue.Queue()
        self._running = threading.Event()
        self._connected = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._down_reason = "not started"
        self._fatal: str = ""  # set by a wrong PIN: no reconnection until restarted
        self._pin_rejected = False
        self._call: _Call | None = None
        self._last_health = 0.0
        self._relink = threading.Event()  # the link needs resetting (no answer)
        self._slots = threading.RLock()  # emitted/to_delete: worker and supervisor threads
        self._lifecycle = threading.Lock()  # stop() never races a connection being made

    # ------------------------------------------------------------------ Gateway

    def preflight(self) -> str:
        """The port is there and this user may open it; it is not opened (the worker may
        hold it, and a second program on the port would disturb it)."""
        try:
            mode = os.stat(self.device).st_mode
        except FileNotFoundError:
            return f"no such device: {self.device} (unplugged? see /dev/serial/by-id/)"
        except OSError as e:
            return f"{self.device}: {e.strerror}"
        if not stat.S_ISCHR(mode):
            return f"{self.device} is not a serial port"
        if not os.access(self.device, os.R_OK | os.W_OK):
            group = _group_name(os.stat(self.device).st_gid)
            return f"permission denied on {self.device}: add this user to the group {group!r}"
        return ""

    def start(self, emit: EventSink) -> None:
        super().start(emit)
        self._running.set()
        self._connect()  # raises GatewayUnavailable / GatewayError for the worker
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"modem-{self.name}", daemon=True
        )
        self._supervisor.start()

    def stop(self) -> None:
        with self._lifecycle:
            self._running.clear()
        self._urcs.put(None)
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=30)
        self._disconnect("stopped")  # the port is free for the next process
        super().stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def send_many(
        self, messages: Sequence[OutboundSMS], progress: ProgressSink | None = None
    ) -> list[SendResult]:
        results: list[SendResult] = []
        for msg in messages:
            session = self._session
            if not self._connected.is_set() or session is None:
                if not results:
                    raise GatewayUnavailable(self._fatal or self._down_reason)
                results.append(SendResult.not_handed_over(msg.id, self._down_reason))
                continue
            result = self._send_one(session, msg)
            results.append(result)
            if progress is not None:  # the network answered +CMGS for each part of it
                progress([result])
        return results

    def acknowledge(self, events: Sequence[GatewayEvent]) -> None:
        """The worker has committed these events: delete them from the modem's memory."""
        with self._slots:
            for event in events:
                handle = getattr(event, "handle", None)
                if isinstance(handle, SimSlot):
                    self._state.to_delete[(handle.storage, handle.index)] = handle.pdu
            self._delete_acknowledged_locked()

    # ------------------------------------------------------------------ sending

    def _send_one(self, session: Session, msg: OutboundSMS) -> SendResult:
        try:
            parts = pdu.encode_submit(
                msg.to, msg.text, smsc=self.smsc, request_report=msg.report, flash=msg.flash
            )
        except PduError as e:
            log.warning("modem %s: message %s cannot be encoded: %s", self.name, msg.id, e)
            return SendResult.refused(msg.id, "the text cannot be put in an SMS", permanent=True)
        references: list[str] = []
        for number, part in enumerate(parts, 1):
            try:
                mr = session.send(
                    part.length,
                    part.hex,
                    prompt_timeout=self.timeouts.prompt,
                    answer_timeout=self.timeouts.send,
                )
            except (NoPrompt, LinkDown) as e:
                # Nothing of this part left. The modem is hung or gone: reset it.
                log.warning(
                    "modem %s: part %d/%d of %s not sent: %s",
                    self.name,
                    number,
                    len(parts),
                    msg.id,
                    e,
                )
                self._link_suspect(NOT_ANSWERING if isinstance(e, NoPrompt) else UNPLUGGED)
                if not references:
                    return SendResult.not_handed_over(
                        msg.id, "the modem gave no prompt for the message: nothing was sent"
                    )
                return SendResult.maybe(msg.id, NOT_ANSWERING, references)
            except MaybeSent as e:
                log.warning(
                    "modem %s: part %d/%d of %s may have gone: %s",
                    self.name,
                    number,
                    len(parts),
                    msg.id,
                    e,
                )
                self._link_suspect(NOT_ANSWERING)
                return SendResult.maybe(
                    msg.id,
                    "the modem stopped answering after the message was written: it may have gone",
                    references,
                )
            except CommandError as e:
                failure = failure_for(e.kind, e.code)
                log.info(
                    "modem %s: part %d/%d of %s refused: %s (%s)",
                    self.name,
                    number,
                    len(parts),
                    msg.id,
                    e.line,
                    failure.reason,
                )
                if references:  # the first parts went: the recipient may have them
                    return SendResult.maybe(msg.id, failure.reason, references)
                return SendResult.refused(msg.id, failure.reason, permanent=failure.permanent)
            except NoAnswer as e:  # not raised by send_pdu, kept for safety
                self._link_suspect(NOT_ANSWERING)
                return SendResult.maybe(msg.id, str(e), references)
            references.append(str(mr))
        return SendResult.ok(msg.id, references)

    # ------------------------------------------------------------------ connection

    def _connect(self) -> None:
        """Open the port and set the modem up. Raises GatewayUnavailable or GatewayError."""
        if self._fatal:
            raise GatewayError(self._fatal)
        try:
            channel = ATChannel.open(
                self.device,
                baud=self.baud,
                on_urc=self._urcs.put,
                on_link_down=self._on_link_down,
                timeout=self.timeouts.command,
            )
        except (serial.SerialException, OSError) as e:
            reason = port_problem(e)
            self._down_reason = reason
            log.warning("modem %s: cannot open %s: %s", self.name, self.device, e)
            raise GatewayUnavailable(reason) from None
        session = Session(channel)
        try:
            session.wake()
            sent = session.unlock(
                self.pin, pin_rejected_before=self._pin_rejected, sim_wait=self.timeouts.sim
            )
            if sent:
                log.info("modem %s: PIN accepted", self.name)
            setup = session.configure(reports=self.report)
        except SetupError as e:
            channel.close()
            self._down_reason = e.reason
            log.error("modem %s: %s %s", self.name, e.reason, e.detail)
            if not e.retry:
                if e.reason == "wrong PIN":
                    self._pin_rejected = True
                self._fatal = e.reason
                raise GatewayError(e.reason) from None
            raise GatewayUnavailable(e.reason) from None
        except ATError as e:
            channel.close()
            self._down_reason = UNPLUGGED if isinstance(e, LinkDown) else NOT_ANSWERING
            log.warning("modem %s: set-up failed: %s", self.name, e)
            raise GatewayUnavailable(self._down_reason) from None
        with self._lifecycle:
            if not self._running.is_set():  # stop() came while we were setting up
                channel.close()
                raise GatewayUnavailable("stopped")
            self._session = session
        self._state.setup = setup
        self._relink.clear()
        self._connected.set()
        log.info(
            "modem %s: ready on %s (%s %s, memory %s %d/%d, reports %s)",
            self.name,
            self.device,
            setup.identity.maker,
            setup.identity.model,
            setup.storage,
            setup.used,
            setup.total,
            setup.reports or "off",
        )
        self._after_connect()

    def _after_connect(self) -> None:
        """Finish deletions left from before, then read what waits in memory."""
        self._delete_acknowledged()
        storages = ["SR"] if self._state.setup and self._state.setup.reports == "stored" else []
        for storage in [self._state.setup.storage if self._state.setup else "SM", *storages]:
            try:
                stored = self._session.list_all(storage) if self._session else []
            except CommandError:
                continue  # no "SR" memory on this modem: reports live with the SMS
            except ATError as e:
                self._link_suspect(NOT_ANSWERING if isinstance(e, NoAnswer) else UNPLUGGED)
                return
            for message in stored:
                self._emit_stored(message)
        self._emit_health()

    def _disconnect(self, reason: str) -> None:
        self._connected.clear()
        self._down_reason = reason
        with self._lifecycle:
            session, self._session = self._session, None
        if session is not None:
            session.at.close()

    def _on_link_down(self, reason: str) -> None:
        log.warning("modem %s: link down: %s", self.name, reason)
        self._connected.clear()
        self._down_reason = UNPLUGGED
        self._relink.set()
        self._urcs.put(None)  # wake the supervisor

    def _link_suspect(self, reason: str) -> None:
        self._connected.clear()
        self._down_reason = reason
        self._relink.set()
        self._urcs.put(None)

    def _supervise(self) -> None:
        delay = 1.0
        while self._running.is_set():
            if self._relink.is_set() or not self._connected.is_set():
                if self._fatal:
                    self._wait(self.timeouts.reconnect_max)
                    continue
                self._emit_health()
                self._disconnect(self._down_reason)
                if not self._running.is_set():
                    break
                try:
                    self._connect()
                    delay = 1.0
                except GatewayError as e:
                    log.info("modem %s: still down (%s), next try in %.0f s", self.name, e, delay)
                    self._emit_health()
                    self._wait(delay)
                    delay = min(delay * 2, self.timeouts.reconnect_max)
                continue
            try:
                self._tick()
            except ATError as e:
                self._link_suspect(UNPLUGGED if isinstance(e, LinkDown) else NOT_ANSWERING)
            except Exception:  # keep the modem served whatever one event did
                log.exception("modem %s: supervisor error", self.name)
                time.sleep(0.5)

    def _wait(self, seconds: float) -> None:
        with contextlib.suppress(queue.Empty):
            self._urcs.get(timeout=seconds)

    def _tick(self) -> None:
        """Handle one URC (or none within a short while), then what is due."""
        timeout = 0.2 if self._call else max(0.05, self._next_health() - time.monotonic())
        try:
            urc = self._urcs.get(timeout=min(timeout, 1.0))
        except queue.Empty:
            urc = None
        if urc is not None:
            self._handle_urc(urc)
        self._calls_due()
        if time.monotonic() >= self._next_health():
            self._emit_health()

    def _next_health(self) -> float:
        return self._last_health + self.health_every

    # ------------------------------------------------------------------ events

    def _handle_urc(self, urc: Urc) -> None:
        name = urc.name
        session = self._session
        if session is None:
            return
        if name in ("+CMTI", "+CDSI"):
            storage, index = _storage_index(urc.value)
            if index is None:
                return
            storage = storage or (self._state.setup.storage if self._state.setup else "SM")
            if (storage, index) in self._state.emitted:
                return
            stored = session.read(storage, index)
            if stored is not None:
                self._emit_stored(stored)
            if name == "+CMTI":
                self._check_memory(session)
        elif name == "+CMT":
            self._emit_pdu(urc.pdu, handle=None)
            if self._state.setup and self._state.setup.cnma_required:
                session.ack_direct()
        elif name == "+CDS":
            self._emit_pdu(urc.pdu, handle=None, report=True)
            if self._state.setup and self._state.setup.cnma_required:
                session.ack_direct()
        elif name in ("RING", "+CRING"):
            self._ring(None)
        elif name == "+CLIP":
            self._ring(_clip_number(urc.value))
        else:
            log.debug("modem %s: %s", self.name, urc.line)

    def _emit_stored(self, stored: Stored) -> None:
        with self._slots:
            self._emit_stored_locked(stored)

    def _emit_stored_locked(self, stored: Stored) -> None:
        key = (stored.storage, stored.index)
        if key in self._state.emitted or key in self._state.to_delete:
            return  # already with the worker, waiting for its commit
        if stored.stat in (2, 3):
            return  # an outgoing message someone stored: not ours to touch
        handle = SimSlot(stored.storage, stored.index, stored.pdu)
        if self._emit_pdu(stored.pdu, handle=handle):
            self._state.emitted[key] = stored.pdu

    def _emit_pdu(self, hex_pdu: str, *, handle: SimSlot | None, report: bool = False) -> bool:
        """Decode and emit; True when an event went out (the slot then waits for its ack)."""
        try:
            decoded = pdu.decode(hex_pdu)
        except PduError as e:
            # Unreadable: keep it where it is (deleting would lose it), say so once.
            log.error("modem %s: unreadable PDU %r: %s", self.name, hex_pdu[:400], e)
            return False
        now = datetime.now(UTC)
        if isinstance(decoded, pdu.StatusReportPdu):
            if decoded.pending:
                # "still trying": nothing to record; free the slot now.
                if handle is not None:
                    self._state.to_delete[(handle.storage, handle.index)] = handle.pdu
                return False
            state = DeliveryState.DELIVERED if decoded.delivered else DeliveryState.FAILED
            self.emit(
                StatusReport(
                    gateway=self.name,
                    reference=str(decoded.message_ref),
                    state=state,
                    detail="" if decoded.delivered else f"TP-ST {decoded.status:#04x}",
                    at=decoded.discharge.astimezone(UTC),
                    handle=handle,
                )
            )
            return True
        if isinstance(decoded, pdu.Deliver):
            concat = decoded.concat
            self.emit(
                InboundSMS(
                    gateway=self.name,
                    sender=decoded.sender,
                    text=decoded.text,
                    received_at=decoded.timestamp.astimezone(UTC) if decoded.timestamp else now,
                    concat=Concat(concat.ref, concat.total, concat.seq) if concat else None,
                    handle=handle,
                    delivery_id=_delivery_id(handle),
                )
            )
            return True
        return False

    def _ring(self, caller: str | None) -> None:
        now = time.monotonic()
        call = self._call
        if call is None or now - call.last_ring > self.timeouts.call_quiet:
            call = self._call = _Call(started=now, last_ring=now)
        call.last_ring = now
        if caller is not None and call.caller is None:
            call.caller = caller
        self._calls_due()

    def _calls_due(self) -> None:
        """Log a call once its caller is known (or +CLIP did not come), hang up if asked."""
        call = self._call
        if call is None:
            return
        now = time.monotonic()
        if not call.logged and (call.caller is not None or now - call.started > 1.0):
            call.logged = True
            self.emit(
                IncomingCall(gateway=self.name, caller=call.caller or "", at=datetime.now(UTC))
            )
            if self.hangup and self._session is not None:
                self._session.hang_up()
        if now - call.last_ring > self.timeouts.call_quiet:
            self._call = None

    def _delete_acknowledged(self) -> None:
        with self._slots:
            self._delete_acknowledged_locked()

    def _delete_acknowledged_locked(self) -> None:
        session = self._session
        if session is None or not self._connected.is_set():
            return  # done after the reconnection
        for (storage, index), stored_pdu in list(self._state.to_delete.items()):
            try:
                session.delete(storage, index)
            except CommandError as e:
                log.warning("modem %s: cannot delete %s %d: %s", self.name, storage, index, e)
            except ATError as e:
                log.warning("modem %s: deletion postponed: %s", self.name, e)
                self._link_suspect(UNPLUGGED if isinstance(e, LinkDown) else NOT_ANSWERING)
                return
            self._state.to_delete.pop((storage, index), None)
            if self._state.emitted.get((storage, index)) == stored_pdu:
                del self._state.emitted[(storage, index)]

    def _check_memory(self, session: Session) -> None:
        used, total = session.memory()
        if total and used >= total:
            log.warning("modem %s: SMS memory full (%d/%d)", self.name, used, total)
            self._emit_health()

    def _emit_health(self) -> None:
        self._last_health = time.monotonic()
        session, setup = self._session, self._state.setup
        extra: dict[str, str] = {"device": self.device}
        if setup is not None:
            extra.update(
                maker=setup.identity.maker,
                model=setup.identity.model,
                imei=setup.identity.imei,
                sim=setup.identity.sim,
            )
        if not self._connected.is_set() or session is None:
            self.emit(Health(self.name, False, self._fatal or self._down_reason, extra=extra))
            return
        try:
            signal = session.signal()
            used, total = session.memory()
        except ATError as e:
            self._link_suspect(UNPLUGGED if isinstance(e, LinkDown) else NOT_ANSWERING)
            return
        extra.update(registration=signal.registration, memory=f"{used}/{total}")
        detail = ""
        if total and used >= total:
            detail = "the SIM memory for SMS is full"
        elif not signal.registered:
            detail = "the modem is not registered on a mobile network"
        self.emit(
            Health(
                self.name,
                signal.registered,
                detail or "connected",
                signal_percent=signal.signal_percent,
                operator=signal.operator,
                extra=extra,
            )
        )


def port_problem(error: BaseException) -> str:
    """A plain reason for a port that does not open."""
    text = str(error).lower()
    errno = getattr(error, "errno", None)
    if errno == 2 or "no such file" in text or "[errno 2]" in text:
        return "the modem's port cannot be found"
    if errno == 13 or "permission denied" in text:
        return "permission denied on the modem's port"
    if errno in (16, 11) or "busy" in text or "exclusive" in text or "lock" in text:
        return "the modem's port is held by another program"
    return UNPLUGGED


def _delivery_id(handle: SimSlot | None) -> str:
    """A stored SMS's identity: its SIM slot and its PDU (which holds the network's time
    stamp). Emitted again after a crash, it is the same; a slot reused for a new SMS holds
    another PDU. An SMS handed over directly (+CMT) has none: stored each time it comes."""
    if handle is None:
        return ""
    digest = hashlib.sha256(handle.pdu.encode("ascii", "replace")).hexdigest()[:32]
    return f"{handle.storage}{handle.index}:{digest}"


def _storage_index(value: str) -> tuple[str, int | None]:
    """'"SM",3' -> ("SM", 3); '3' -> ("", 3)."""
    fields = [f.strip().strip('"') for f in value.split(",")]
    try:
        index = int(fields[-1])
    except ValueError:
        return "", None
    return (fields[0].upper() if len(fields) > 1 else ""), index


def _clip_number(value: str) -> str:
    """'"+33612345678",145,,,,0' -> "+33612345678"; hidden numbers give ""."""
    number = value.split(",")[0].strip().strip('"')
    kind = value.split(",")[1].strip() if "," in value else ""
    if number and kind == "145" and not number.startswith("+"):
        number = "+" + number
    return number


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
