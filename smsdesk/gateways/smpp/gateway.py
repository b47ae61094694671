"""The SMPP 3.4 gateway: a line of one or more binds to an SMSC.

`send_many` runs on the worker's thread. It spreads the messages over the binds that are
up, keeps at most `window` submit_sm without their resp on each bind, paces the submit_sm
at `tps` for the whole line, and tells the worker each message's result as soon as the SMSC
has answered every part of it (`progress`): the worker records it at once
(`record_progress_at_once`), so a SIGKILL of the worker leaves `unknown` at most what was in
the windows. A claim is never larger than the windows (`batch_size` = window x binds): what
the worker holds and the SMSC has not acknowledged is never more than that.

What each answer means (the worker's contract, base.py):
- every part's submit_sm_resp OK: ACCEPTED, one reference (message_id) per part;
- ESME_RTHROTTLED / ESME_RMSGQFUL: nothing failed; the part is sent again after a pause
  (0.2 s doubling to 5 s for that bind) and the line's pace stays lower until it passes;
- another error: REFUSED, temporary or permanent by the status;
- the bind lost while a part was in the SMSC's hands (sent, no resp): MAYBE_HANDED_OVER;
- the bind lost before any part of a message left: that message goes to another bind that
  is up, or, none being up, NOT_HANDED_OVER (back to queued, no try used).

Receipts (deliver_sm with esm_class 0x04) become StatusReport events for the part whose
message_id they name; an SMS (multipart by UDH or SAR) an InboundSMS. Both are answered
(deliver_sm_resp) in `acknowledge`, after the worker committed them.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

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
    OutboundSMS,
    ProgressSink,
    SendResult,
    StatusReport,
)
from smsdesk.gateways.smpp import pdu
from smsdesk.gateways.smpp.pdu import Cmd
from smsdesk.gateways.smpp.session import (
    BindRefused,
    LinkDown,
    Lost,
    Session,
    SessionConfig,
    SessionEvent,
)

log = logging.getLogger(__name__)

THROTTLE_FIRST, THROTTLE_MOST = 0.2, 5.0
THROTTLE_GIVE_UP = 120.0  # seconds of throttling in one hand-over before the line is "down"
PROGRESS_EVERY = 0.2  # results given to the worker at least this often


@dataclass(frozen=True, slots=True)
class LineConfig:
    session: SessionConfig
    addressing: pdu.Addressing
    window: int = 10
    tps: float | None = None
    binds: int = 1
    split_binds: bool = False  # True: a transmitter and a receiver per bind, not a transceiver
    lanes: bool = False  # True: one worker thread per bind (`lanes()`), not one for the line
    long: str = "udh"
    latin1: bool = False
    msg_id_type: int | None = None  # Kannel's: bit 0 resp in hex, bit 1 receipt in hex


@dataclass(eq=False)
class _Job:
    sms: OutboundSMS
    encoded: pdu.Encoded
    count: int
    refs: list[str | None]
    session: Session | None = None
    sent: int = 0  # parts written to the SMSC (in flight or answered)
    in_flight: int = 0
    answered: int = 0
    result: SendResult | None = None
    todo: collections.deque[int] = field(default_factory=collections.deque)


class SmppGateway(Gateway):
    kind = "smpp"
    supports_flash = True  # data_coding class 0 and dest_addr_subunit 1 (pdu.submit_sm)
    # Each progress call is recorded before the next part may take a window's place.
    record_progress_at_once = True

    def __init__(
        self,
        name: str,
        config: LineConfig,
        *,
        line: SmppGateway | None = None,
        first_bind: int = 0,
    ) -> None:
        super().__init__(name, rate=None, batch_size=config.window * config.binds)
        self.config = config
        self.events: queue.SimpleQueue[SessionEvent] = queue.SimpleQueue()
        self.sessions: list[Session] = []
        # A lane (one bind of a line of several, `lanes()`) shares its line's pace and
        # reports the binds of the whole line in its Health.
        self._line = line
        self._first_bind = first_bind  # the lane's bind: its sessions' names (op#2)
        self._pacer: _Pacer = line._pacer if line is not None else _Pacer(config.tps, config.window)
        self._lanes: list[SmppGateway] = []
        self._throttle: dict[Session, tuple[float, float]] = {}  # until, next pause
        self._state_lock = threading.Lock()
        self._last_health: tuple[int, int] | None = None

    def lanes(self) -> list[Gateway]:
        """One gateway per bind, each with the window of its bind: the worker drives each
        on its own thread, so one bind's claim and results are written while another's
        window is in the SMSC's hands. The line's pace (`tps`) is shared; a SIGKILL still
        leaves at most the window of each bind `unknown`."""
        if self.config.binds == 1 or not self.config.lanes:
            return [self]
        if not self._lanes:
            one = replace(self.config, binds=1)
            self._lanes = [
                SmppGateway(self.name, one, line=self, first_bind=i)
                for i in range(self.config.binds)
            ]
        return list(self._lanes)

    # --- life -----------------------------------------------------------------------------

    def _new_sessions(self) -> list[Session]:
        c = self.config
        modes = (
            [Cmd.BIND_TRANSMITTER, Cmd.BIND_RECEIVER] if c.split_binds else [Cmd.BIND_TRANSCEIVER]
        )
        suffixes = [""] if len(modes) == 1 else ["tx", "rx"]
        return [
            Session(
                f"{self.name}#{self._first_bind + i + 1}{suffixes[k]}",
                c.session,
                mode,
                self.events,
                self._on_deliver,
                self._on_state,
            )
            for i in range(c.binds)
            for k, mode in enumerate(modes)
        ]

    def start(self, emit: EventSink) -> None:
        self.stop()
        self.events = queue.SimpleQueue()
        self.sessions = self._new_sessions()
        for s in self.sessions:
            s.events = self.events
        errors: list[BaseException] = []
        for s in self.sessions:
            try:
                s.connect()
            except (LinkDown, BindRefused) as e:
                s.reason = str(e)
                s.config_error = isinstance(e, BindRefused) and e.config_error
                errors.append(e)
        if not any(s.up and s.sends for s in self.sessions):
            for s in self.sessions:
                s.stop()
            first = errors[0] if errors else LinkDown("no bind could send")
            where = f"SMSC {self.config.session.host}:{self.config.session.port}"
            if isinstance(first, BindRefused) and first.config_error:
                raise GatewayError(f"{where}: {first}") from None
            raise GatewayUnavailable(f"{where}: {first}") from None
        super().start(emit)
        for s in self.sessions:
            s.start()
        (self._line or self)._last_health = None
        self._on_state()

    def stop(self) -> None:
        for s in self.sessions:
            s.stop()
        super().stop()

    def preflight(self) -> str | None:
        return None  # a test bind would take a bind from a running worker

    def _on_state(self) -> None:
        """A bind went down or came back: the Passerelles page shows it (Health). A lane
        tells of its whole line's binds."""
        if self._line is not None:
            self._line._lane_state(self)
            return
        if not self.sessions:
            return
        self._tell_health(self, self.sessions)

    def _lane_state(self, lane: SmppGateway) -> None:
        sessions = [s for one in self._lanes for s in one.sessions]
        if sessions:
            self._tell_health(lane, sessions)

    def _tell_health(self, via: SmppGateway, sessions: list[Session]) -> None:
        up = sum(1 for s in sessions if s.up)
        with self._state_lock:
            key = (up, len(sessions))
            if key == self._last_health:
                return
            self._last_health = key
        reasons = sorted({s.reason for s in sessions if not s.up and s.reason})
        # The binds of the whole line (a lane's own lost bind is counted too).
        total = self.config.binds * (2 if self.config.split_binds else 1)
        total = max(total, len(sessions))
        detail = f"{up}/{total} binds up"
        if reasons:
            detail += ": " + "; ".join(reasons)
        c = self.config.session
        via.emit(Health(self.name, connected=up > 0, detail=detail, operator=f"{c.host}:{c.port}"))

    # --- sending --------------------------------------------------------------------------

    def send_many(
        self, messages: Sequence[OutboundSMS], progress: ProgressSink | None = None
    ) -> list[SendResult]:
        senders = [s for s in self.sessions if s.sends and s.up]
        if not senders:
            why = next((s.reason for s in self.sessions if s.reason), "no bind up")
            raise GatewayUnavailable(f"SMPP line {self.name}: {why}")
        jobs: list[_Job] = []
        waiting: collections.deque[_Job] = collections.deque()
        done: list[SendResult] = []
        for sms in messages:
            try:
                encoded = pdu.encode_text(
                    sms.text, latin1=self.config.latin1, long=self.config.long
                )
            except ValueError as e:
                job = _Job(sms, pdu.Encoded(0, ()), 0, [])
                job.result = SendResult.refused(sms.id, str(e), permanent=True)
                done.append(job.result)
                jobs.append(job)
                continue
            count = pdu.part_count(encoded)
            job = _Job(sms, encoded, count, [None] * count)
            job.todo.extend(range(count))
            jobs.append(job)
            waiting.append(job)
        pending: dict[tuple[Session, int, int], tuple[_Job, int, float]] = {}
        per_session: dict[Session, collections.deque[_Job]] = {}
        throttled_since: float | None = None
        reported, reported_at = len(done), time.monotonic()  # what `progress` was given
        unresolved = sum(1 for j in jobs if j.result is None)
        sessions = [s for s in self.sessions if s.sends]
        window = self.config.window
        in_window: dict[Session, int] = dict.fromkeys(sessions, 0)

        def finish(job: _Job, result: SendResult) -> None:
            nonlocal unresolved
            if job.result is None:
                job.result = result
                done.append(result)
                unresolved -= 1

        def session_lost(session: Session, generation: int, reason: str) -> None:
            for key in [k for k in pending if k[0] is session and k[1] == generation]:
                job, _part, _at = pending.pop(key)
                job.in_flight -= 1
                in_window[session] = max(0, in_window[session] - 1)
                refs = [r for r in job.refs if r]
                finish(job, SendResult.maybe(job.sms.id, _lost_words(reason), refs, link_lost=True))
            if session.up and session.generation != generation:
                return  # connected again already: what waits for it goes on the new link
            for job in per_session.pop(session, collections.deque()):
                if job.result is None and job.sent == 0:
                    job.session = None
                    job.todo = collections.deque(range(job.count))
                    waiting.appendleft(job)
                elif job.result is None:
                    refs = [r for r in job.refs if r]
                    finish(
                        job, SendResult.maybe(job.sms.id, _lost_words(reason), refs, link_lost=True)
                    )

        while unresolved:
            now = time.monotonic()
            live = [s for s in sessions if s.up]
            if not live:
                reason = next((s.reason for s in sessions if s.reason), "no bind up")
                for s in sessions:
                    session_lost(s, s.generation, reason)
                for key in list(pending):
                    session_lost(key[0], key[1], reason)
                break
            # Write what the windows, the pace and the throttling allow.
            wait = 0.5
            for s in live:
                until, _ = self._throttle.get(s, (0.0, 0.0))
                if until > now:
                    wait = min(wait, until - now)
                    continue
                queue_of = per_session.setdefault(s, collections.deque())
                writes: list[bytes] = []
                while in_window[s] < window:
                    while queue_of and (queue_of[0].result is not None or not queue_of[0].todo):
                        queue_of.popleft()
                    if not queue_of:
                        if not waiting:
                            break
                        job = waiting.popleft()
                        job.session = s
                        queue_of.append(job)
                    pace = self._take_token(now)
                    if pace > 0:
                        wait = min(wait, pace)
                        break
                    job = queue_of[0]
                    part = job.todo.popleft()
                    seq = s.next_sequence()
                    data = pdu.submit_sm(
                        seq,
                        pdu.addressing_for(self.config.addressing, job.sms.sender),
                        job.sms.to,
                        job.encoded,
                        part,
                        flash=job.sms.flash,
                    )
                    pending[(s, s.generation, seq)] = (job, part, now)
                    job.sent += 1
                    job.in_flight += 1
                    in_window[s] += 1
                    writes.append(data)
                # One write for the round: counted in flight already, so a write that fails
                # leaves them `unknown` through the Lost event (some bytes may have left).
                if writes and not s.send(b"".join(writes)):
                    session_lost(s, s.generation, s.reason or "the link to the SMSC broke")
            # Read the answers (at least one, or until something is due).
            answered: list[SessionEvent] = []
            try:
                answered.append(self.events.get(timeout=max(0.001, wait) if pending else wait))
                while True:
                    answered.append(self.events.get_nowait())
            except queue.Empty:
                pass
            for event in answered:
                if isinstance(event, Lost):
                    session_lost(event.session, event.generation, event.reason)
                    continue
                key = (event.session, event.generation, event.sequence)
                found = pending.pop(key, None)
                if found is None:
                    continue  # an enquire_link's nack, or a resp of a call given up
                job, part, _at = found
                job.in_flight -= 1
                in_window[event.session] = max(0, in_window[event.session] - 1)
                if event.status == pdu.ESME_ROK:
                    self._throttle.pop(event.session, None)
                    throttled_since = None
                    job.refs[part] = self._resp_id(event.message_id)
                    job.answered += 1
                    if job.answered == job.count and job.result is None:
                        refs = [r or "" for r in job.refs]
                        finish(job, SendResult.ok(job.sms.id, refs))
                elif event.status in pdu.THROTTLING:
                    job.sent -= 1
                    job.todo.appendleft(part)
                    again = per_session.setdefault(event.session, collections.deque())
                    if job not in again:
                        again.appendleft(job)  # its turn again once the pause is over
                    _until, pause = self._throttle.get(event.session, (0.0, THROTTLE_FIRST))
                    self._throttle[event.session] = (
                        time.monotonic() + pause,
                        min(THROTTLE_MOST, pause * 2),
                    )
                    throttled_since = throttled_since or time.monotonic()
                elif job.result is None:
                    words = pdu.status_words(event.status)
                    finish(
                        job,
                        SendResult.refused(
                            job.sms.id, words, permanent=event.status not in pdu.TEMPORARY
                        ),
                    )
            # A resp that never comes: the link is not working, whatever TCP says.
            limit = self.config.session.timeout
            for (s, gen, _seq), (_job, _part, at) in list(pending.items()):
                if not s.up or s.generation != gen:  # its Lost event may not be read yet
                    session_lost(s, gen, s.reason or "the link to the SMSC broke")
                elif time.monotonic() - at > limit:
                    s.lose(f"no submit_sm_resp within {limit:g} s")
            if throttled_since and time.monotonic() - throttled_since > THROTTLE_GIVE_UP:
                for job in list(waiting) + [j for q in per_session.values() for j in q]:
                    if job.result is None and job.in_flight == 0 and job.sent == 0:
                        finish(
                            job,
                            SendResult.not_handed_over(job.sms.id, "the SMSC keeps throttling"),
                        )
                waiting.clear()
            # Recorded before a window's place is taken again (more to write), and at
            # least every PROGRESS_EVERY seconds; otherwise with the rest of the batch.
            if progress is not None and len(done) > reported:
                more = bool(waiting) or any(
                    j.todo for q in per_session.values() for j in q if j.result is None
                )
                if more or time.monotonic() - reported_at >= PROGRESS_EVERY:
                    progress(done[reported:])
                    reported, reported_at = len(done), time.monotonic()
        reason = next((s.reason for s in sessions if s.reason), "no bind up")
        for job in jobs:  # what could not be written at all, or was cut off
            if job.result is None and job.sent == 0:
                finish(job, SendResult.not_handed_over(job.sms.id, reason))
            elif job.result is None:
                refs = [r for r in job.refs if r]
                finish(job, SendResult.maybe(job.sms.id, _lost_words(reason), refs, link_lost=True))
        return [j.result for j in jobs if j.result is not None]

    def _take_token(self, now: float) -> float:
        """0 when a submit_sm may go now (and counts it), else seconds to wait."""
        return self._pacer.take(now)

    def _resp_id(self, raw: str) -> str:
        kind = self.config.msg_id_type
        return raw if kind is None else pdu.normalise_id(raw, bool(kind & 1))

    def _receipt_id(self, receipt: pdu.Receipt) -> str:
        kind = self.config.msg_id_type
        if kind is None:
            return receipt.id
        hexadecimal = bool(kind & 1) if receipt.from_tlv else bool(kind & 2)
        return pdu.normalise_id(receipt.id, hexadecimal)

    # --- what the SMSC sends --------------------------------------------------------------

    def _on_deliver(self, session: Session, generation: int, frame: bytes) -> None:
        """From a reader thread: a deliver_sm (receipt or SMS)."""
        head = pdu.header(frame)
        try:
            deliver = pdu.parse_deliver_sm(frame)
        except Exception as e:  # a PDU we cannot read: refused, the SMSC logs it
            log.warning("SMPP line %s: unreadable deliver_sm refused (%s)", self.name, e)
            session.answer_deliver(generation, head.sequence, status=0x65)
            return
        handle = (session, generation, deliver.sequence)
        receipt = deliver.receipt
        if receipt is not None:
            if receipt.stat in pdu.FINAL_DELIVERED:
                state = DeliveryState.DELIVERED
            elif receipt.stat in pdu.FINAL_FAILED:
                state = DeliveryState.FAILED
            else:  # ENROUTE, ACCEPTD: not the end; nothing to record
                session.answer_deliver(generation, deliver.sequence)
                return
            detail = (
                ""
                if state is DeliveryState.DELIVERED
                else (f"stat:{receipt.stat} err:{receipt.err}".strip())
            )
            self.emit(
                StatusReport(self.name, self._receipt_id(receipt), state, detail, handle=handle)
            )
            return
        concat = Concat(*deliver.concat) if deliver.concat else None
        if concat is not None and not (1 <= concat.seq <= concat.total):
            concat = None
        self.emit(
            InboundSMS(
                self.name,
                deliver.source,
                deliver.text,
                concat=concat,
                handle=handle,
                destination=deliver.destination,
            )
        )

    def acknowledge(self, events: Sequence[GatewayEvent]) -> None:
        answers: dict[tuple[Session, int], list[int]] = {}
        for event in events:
            handle = getattr(event, "handle", None)
            if isinstance(handle, tuple) and len(handle) == 3:
                session, generation, sequence = handle
                if isinstance(session, Session):
                    answers.setdefault((session, generation), []).append(sequence)
        for (session, generation), sequences in answers.items():
            session.answer_deliver(generation, *sequences)  # one write per bind


class _Pacer:
    """The line's pace (`tps`): a token bucket, shared by the lanes of a line."""

    def __init__(self, tps: float | None, window: int) -> None:
        self.tps = tps
        self.burst = max(1.0, min(float(window), tps)) if tps is not None else 0.0
        self._tokens = float(window)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self, now: float) -> float:
        """0 when a submit_sm may go now (and counts it), else seconds to wait."""
        tps = self.tps
        if tps is None:
            return 0.0
        with self._lock:
            self._tokens = min(self.burst, self._tokens + max(0.0, now - self._at) * tps)
            self._at = max(self._at, now)
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / tps


def _lost_words(reason: str) -> str:
    return f"the link to the SMSC broke after this message left ({reason})"
