"""One SMPP bind: a TCP connection, its reader thread, enquire_link, reconnection.

The reader thread owns the socket's reading side: it answers enquire_link and unbind, hands
every submit_sm_resp (and generic_nack) to the gateway's queue, and every deliver_sm to the
gateway's callback. Writes come from the worker's thread (submit_sm, deliver_sm_resp) and
from the reader (enquire_link and its answers), under one lock. When the link breaks (end of
stream, a write that fails, no answer to enquire_link, no resp in time) the session says so
on the queue once, closes the socket and connects again after a back-off with jitter
(1 s doubling to 60 s, each cut by up to 20 % at random, like the worker's).

Every connection has a generation number: a deliver_sm_resp for a deliver_sm of an earlier
connection is not sent (the SMSC delivers it again on the new one).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import queue
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smsdesk.gateways.smpp import pdu
from smsdesk.gateways.smpp.pdu import Cmd

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    enquire_link: float = 30.0  # seconds of silence before we ask
    timeout: float = 10.0  # connect, bind and each resp


class BindRefused(Exception):
    """The SMSC answered the bind with an error: `command_status` says which."""

    def __init__(self, status: int, words: str) -> None:
        super().__init__(words)
        self.command_status = status

    @property
    def config_error(self) -> bool:
        return self.command_status in pdu.BIND_CONFIG_ERRORS


class LinkDown(Exception):
    """The TCP connection could not be opened, or broke."""


def connect_error(error: OSError, host: str, port: int) -> str:
    """What a failed connect means, in plain words."""
    where = f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"cannot find the SMSC's host {host!r} (DNS: {error.strerror})"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no answer from the SMSC at {where} (connection timed out)"
    code = error.errno
    if code == errno.ECONNREFUSED:
        return f"connection refused by {where} (nothing listens on that port)"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"no route to the SMSC at {where}"
    if code == errno.EADDRNOTAVAIL:
        return f"address refused: {where} cannot be reached from here"
    return f"cannot connect to {where}: {error.strerror or error}"


# What a session puts on the gateway's queue.
@dataclass(frozen=True, slots=True)
class Resp:
    session: Session
    generation: int
    sequence: int
    status: int
    message_id: str


@dataclass(frozen=True, slots=True)
class Lost:
    session: Session
    generation: int
    reason: str


SessionEvent = Resp | Lost


class Session:
    def __init__(
        self,
        name: str,
        config: SessionConfig,
        mode: Cmd,
        events: queue.SimpleQueue[SessionEvent],
        on_deliver: Callable[[Session, int, bytes], None],
        on_state: Callable[[], None],
    ) -> None:
        self.name = name
        self.config = config
        self.mode = mode  # BIND_TRANSCEIVER, BIND_TRANSMITTER or BIND_RECEIVER
        self.events = events
        self.on_deliver = on_deliver
        self.on_state = on_state
        self.sends = mode != Cmd.BIND_RECEIVER
        self.up = False
        self.generation = 0
        self.reason = ""
        self.config_error = False
        self._sock: socket.socket | None = None
        self._write = threading.Lock()
        self._seq = itertools.count(1)
        self._seq_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._last_rx = time.monotonic()
        self._enquiry_sent = 0.0

    # --- life ---------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection and bind; raises LinkDown or BindRefused."""
        c = self.config
        try:
            sock = socket.create_connection((c.host, c.port), timeout=c.timeout)
        except OSError as e:
            raise LinkDown(connect_error(e, c.host, c.port)) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            seq = self.next_sequence()
            sock.sendall(
                pdu.bind(
                    self.mode,
                    seq,
                    system_id=c.system_id,
                    password=c.password,
                    system_type=c.system_type,
                )
            )
            buffer = b""
            while True:
                frame, buffer = _read_frame(sock, buffer)
                head = pdu.header(frame)
                if head.command == self.mode | 0x80000000 or head.command == Cmd.GENERIC_NACK:
                    break
            if head.status != pdu.ESME_ROK:
                raise BindRefused(head.status, f"bind refused: {pdu.status_words(head.status)}")
        except (OSError, LinkDown) as e:
            sock.close()
            why = str(e) if isinstance(e, LinkDown) else connect_error(e, c.host, c.port)
            raise LinkDown(f"the SMSC closed the connection during the bind ({why})") from None
        except BindRefused:
            sock.close()
            raise
        sock.settimeout(max(0.5, min(c.enquire_link, c.timeout) / 2))
        self._sock = sock
        self._pending_input = buffer
        self._last_rx = time.monotonic()
        self._enquiry_sent = 0.0
        self.generation += 1
        self.up = True
        self.reason = ""
        self.config_error = False
        self._failures = 0

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"smpp-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        sock = self._sock
        if sock is not None and self.up:
            try:
                with self._write:
                    sock.sendall(pdu.session_pdu(Cmd.UNBIND, self.next_sequence()))
            except OSError:
                pass
        self._close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        self.up = False
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def lose(self, reason: str) -> None:
        """The link is broken: say so once, close; the reader thread connects again."""
        if not self.up:
            return
        generation = self.generation
        self.reason = reason
        self._close()
        log.warning("SMPP bind %s lost: %s", self.name, reason)
        self.events.put(Lost(self, generation, reason))
        self.on_state()

    def next_sequence(self) -> int:
        with self._seq_lock:
            seq = next(self._seq)
            if seq >= 0x7FFFFFFF:
                self._seq = itertools.count(1)
            return seq

    # --- writing (any thread) -----------------------------------------------------------

    def send(self, data: bytes) -> bool:
        """Write a PDU; False (and the link lost) when the connection is gone."""
        sock = self._sock
        if sock is None or not self.up:
            return False
        try:
            with self._write:
                sock.sendall(data)
        except OSError as e:
            self.lose(f"connection to the SMSC broke while writing ({e.strerror or e})")
            return False
        return True

    def answer_deliver(self, generation: int, *sequences: int, status: int = 0) -> None:
        """deliver_sm_resp for these deliver_sm of connection `generation` (one write)."""
        if generation == self.generation and self.up:
            self.send(
                b"".join(
                    pdu.session_pdu(Cmd.DELIVER_SM_RESP, seq, b"\0", status) for seq in sequences
                )
            )

    # --- the reader thread --------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self.up and not self._reconnect():
                continue
            try:
                self._read_loop()
            except Exception as e:  # never let the thread die while the gateway runs
                log.exception("SMPP bind %s: reader failed", self.name)
                self.lose(f"reader failed: {e}")

    def _reconnect(self) -> bool:
        base = min(60.0, 1.0 * 2**self._failures)
        if self._stopping.wait(base * (1 - random.uniform(0, 0.2))):
            return False
        try:
            self.connect()
        except (LinkDown, BindRefused) as e:
            self._failures += 1
            self.reason = str(e)
            self.config_error = isinstance(e, BindRefused) and e.config_error
            self.on_state()
            return False
        log.warning("SMPP bind %s is back", self.name)
        self.on_state()
        return True

    def _read_loop(self) -> None:
        buffer = self._pending_input
        self._pending_input = b""
        c = self.config
        while self.up and not self._stopping.is_set():
            sock = self._sock
            if sock is None:
                return
            try:
                while len(buffer) < 16 or len(buffer) < int.from_bytes(buffer[:4], "big"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        self.lose("the SMSC closed the connection")
                        return
                    buffer += chunk
                    self._last_rx = time.monotonic()
                    if (
                        len(buffer) >= 4
                        and not 16 <= int.from_bytes(buffer[:4], "big") <= pdu.MAX_PDU
                    ):
                        self.lose("the SMSC sent a malformed PDU (bad command_length)")
                        return
            except TimeoutError:
                self._keep_alive(c)
                continue
            except OSError as e:
                if self.up:
                    self.lose(f"connection to the SMSC broke ({e.strerror or e})")
                return
            while len(buffer) >= 16:
                length = int.from_bytes(buffer[:4], "big")
                if len(buffer) < length:
                    break
                frame, buffer = buffer[:length], buffer[length:]
                self._handle(frame)
            self._keep_alive(c)

    def _keep_alive(self, c: SessionConfig) -> None:
        now = time.monotonic()
        if self._enquiry_sent and now - self._enquiry_sent > c.timeout:
            self.lose(f"no answer to enquire_link for {c.timeout:g} s")
        elif not self._enquiry_sent and now - self._last_rx >= c.enquire_link:
            self._enquiry_sent = now
            self.send(pdu.session_pdu(Cmd.ENQUIRE_LINK, self.next_sequence()))

    def _handle(self, frame: bytes) -> None:
        head = pdu.header(frame)
        self._enquiry_sent = 0.0  # anything from the SMSC shows the link lives
        command = head.command
        if command == Cmd.SUBMIT_SM_RESP or command == Cmd.GENERIC_NACK:
            message_id = pdu.c_string(frame, 16) if head.status == pdu.ESME_ROK else ""
            self.events.put(Resp(self, self.generation, head.sequence, head.status, message_id))
        elif command == Cmd.DELIVER_SM:
            self.on_deliver(self, self.generation, frame)
        elif command == Cmd.ENQUIRE_LINK:
            self.send(pdu.session_pdu(Cmd.ENQUIRE_LINK_RESP, head.sequence))
        elif command == Cmd.UNBIND:
            self.send(pdu.session_pdu(Cmd.UNBIND_RESP, head.sequence))
            self.lose("the SMSC unbound")
        elif command & 0x80000000 == 0:  # a request we do not serve
            self.send(pdu.session_pdu(Cmd.GENERIC_NACK, head.sequence, status=0x03))


def _read_frame(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    while len(buffer) < 4 or len(buffer) < int.from_bytes(buffer[:4], "big"):
        if len(buffer) >= 4 and not 16 <= int.from_bytes(buffer[:4], "big") <= pdu.MAX_PDU:
            raise LinkDown("malformed PDU from the SMSC")
        chunk = sock.recv(65536)
        if not chunk:
            raise LinkDown("closed")
        buffer += chunk
    length = int.from_bytes(buffer[:4], "big")
    return buffer[:length], buffer[length:]
