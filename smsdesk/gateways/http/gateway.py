"""A line through an HTTP SMS provider: one request per message, a few at a time.

What each answer means for the message and the line (the worker's contract,
gateways/base.py; the table is in docs/gateways.md, "HTTP providers"): no connection:
NOT_HANDED_OVER; the request left and no answer came: MAYBE (`unknown`); 2xx with an id:
ACCEPTED; 2xx that cannot be read: MAYBE; a refusal: REFUSED (permanent, 408 and 5xx
temporary); 401/402/403/404 and "no credit": NOT_HANDED_OVER, the line down; 429: wait
`Retry-After` and send again, at most `patience` seconds per hand-over, then NOT_HANDED_OVER
and the line rests until the provider's time; 502/503: NOT_HANDED_OVER, down until
`Retry-After`; 504: MAYBE.

Once the line is found down during a hand-over, the messages not started yet are not sent
(NOT_HANDED_OVER): nothing is lost, they wait for the line.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from urllib.parse import urlsplit

from smsdesk.gateways.base import (
    EventSink,
    Gateway,
    GatewayEvent,
    GatewayUnavailable,
    Health,
    InboundSMS,
    OutboundSMS,
    Outcome,
    ProgressSink,
    SendResult,
)
from smsdesk.gateways.http import client
from smsdesk.gateways.http.provider import (
    Accepted,
    CallbackItem,
    CallbackRequest,
    Description,
    Malformed,
    Refused,
)

log = logging.getLogger(__name__)

LINE_DOWN_STATUS = {
    401: "the provider refused our credentials (HTTP 401)",
    402: "the provider's account has no credit left (HTTP 402)",
    403: "the provider forbids this account to send (HTTP 403)",
    404: "the provider's address or account is wrong (HTTP 404)",
}

Exchange = Callable[..., client.Answer]


class HttpGateway(Gateway):
    kind = "http"

    def __init__(
        self,
        name: str,
        provider: Description,
        *,
        sender: str = "",
        concurrency: int = 4,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        patience: float = 60.0,
        poll_every: float = 30.0,
        rate: float | None = None,
        batch_size: int | None = None,
        exchange: Exchange = client.exchange,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, rate=rate, batch_size=batch_size or concurrency * 5)
        self.provider = provider
        self.sender = sender
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.patience = patience
        self._exchange = exchange
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._pause_until = 0.0  # a 429 or 503 asked everyone to wait until then
        self._not_before = 0.0  # the line may not start again before (monotonic)
        self._halt = ""  # why the rest of this hand-over is not sent
        self._throttled = 0.0  # seconds waited on 429s in this hand-over
        self.supports_flash = provider.supports_flash
        self.poll_every = poll_every
        self._next_poll = 0.0
        self._emitted: set[object] = set()  # handles emitted and not acknowledged yet

    # --- life -----------------------------------------------------------------------------

    def start(self, emit: EventSink) -> None:
        wait = self._not_before - self._clock()
        if wait > 0:
            raise GatewayUnavailable(f"the provider asked us to wait {wait:.0f} s more")
        super().start(emit)
        # Nothing to open: the line is up until a request says otherwise. The Passerelles
        # page shows the provider and its host where a modem shows its operator.
        host = urlsplit(self.provider.url).hostname or ""
        self.emit(
            Health(
                self.name,
                connected=True,
                detail="connected",
                operator=f"{self.provider.name} {host}",
            )
        )

    def preflight(self) -> str:
        """The provider's host resolves and takes a connection (nothing is sent: a request,
        even a harmless one, could cost or be counted)."""
        url = urlsplit(self.provider.url)
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            socket.create_connection((host, port), timeout=self.connect_timeout).close()
        except socket.gaierror as e:
            return f"cannot find the provider's host {host!r} ({e})"
        except OSError as e:
            return f"cannot connect to {host}:{port}: {e.strerror or e}"
        return ""

    # --- sending --------------------------------------------------------------------------

    def send_many(
        self, messages: Sequence[OutboundSMS], progress: ProgressSink | None = None
    ) -> list[SendResult]:
        self._halt = ""
        self._throttled = 0.0
        results: dict[int, SendResult] = {}

        def tell(result: SendResult) -> None:  # on the worker's thread only
            results[result.message_id] = result
            if progress is not None and result.outcome is not Outcome.NOT_HANDED_OVER:
                progress([result])

        if self.concurrency == 1 or len(messages) == 1:
            for sms in messages:
                tell(self._send_one(sms))
        else:
            prefix = f"http-{self.name}"
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix=prefix) as pool:
                futures = [pool.submit(self._send_one, sms) for sms in messages]
                for future in as_completed(futures):
                    tell(future.result())
        return [results[sms.id] for sms in messages]

    def _send_one(self, sms: OutboundSMS) -> SendResult:
        if sms.flash and not self.supports_flash:
            return SendResult.refused(sms.id, "this line cannot send flash SMS", permanent=True)
        while True:
            with self._lock:
                halt, pause = self._halt, self._pause_until - self._clock()
            if halt:
                return SendResult.not_handed_over(sms.id, halt)
            if pause > 0:
                self._sleep(pause)
                continue
            result = self._attempt(sms)
            if result is not None:
                return result

    def _attempt(self, sms: OutboundSMS) -> SendResult | None:
        """One request for `sms`: its result, or None to send it again (after a 429)."""
        request = self.provider.build(sms, sms.sender or self.sender)  # a shared line's org
        try:
            answer = self._exchange(
                request, connect_timeout=self.connect_timeout, read_timeout=self.timeout
            )
        except client.NotSent as e:
            self._stop_line(str(e))
            return SendResult.not_handed_over(sms.id, str(e))
        except client.NoAnswer as e:
            return SendResult.maybe(sms.id, f"{e}: it may have been taken")
        return self._judge(sms, answer)

    def _judge(self, sms: OutboundSMS, answer: client.Answer) -> SendResult | None:
        """The result of one answer; None: send the message again (after a 429's pause)."""
        status = answer.status
        if status == 429:
            wait = answer.retry_after() or 1.0
            with self._lock:
                self._throttled += wait
                over = self._throttled > self.patience or wait > self.patience
                if over:
                    why = f"the provider asks to slow down (HTTP 429, wait {wait:.0f} s)"
                    self._halt = self._halt or why
                    self._not_before = max(self._not_before, self._clock() + wait)
                else:
                    self._pause_until = max(self._pause_until, self._clock() + wait)
            if over:
                return SendResult.not_handed_over(sms.id, self._halt)
            log.info("gateway %s: throttled by the provider, waiting %.1f s", self.name, wait)
            return None
        if status in LINE_DOWN_STATUS:
            why = LINE_DOWN_STATUS[status]
            detail = answer.text(160)
            self._stop_line(f"{why}: {detail}" if detail else why)
            return SendResult.not_handed_over(sms.id, self._halt)
        if status in (502, 503):
            asked = answer.retry_after()
            why = f"the provider is unavailable (HTTP {status})"
            self._stop_line(why, wait=asked)
            return SendResult.not_handed_over(sms.id, why)
        if status == 504:
            return SendResult.maybe(
                sms.id, "the provider's proxy gave up waiting (HTTP 504): it may have been taken"
            )
        if status >= 500:
            return SendResult.refused(
                sms.id, f"the provider failed (HTTP {status}): {answer.text(160)}", permanent=False
            )
        verdict = self.provider.read(answer)
        if isinstance(verdict, Accepted):
            return SendResult.ok(sms.id, verdict.reference)
        if isinstance(verdict, Malformed):
            return SendResult.maybe(
                sms.id, f"unreadable answer ({verdict.error}): it may have been taken"
            )
        assert isinstance(verdict, Refused)
        lowered = verdict.error.lower()
        if any(mark.lower() in lowered for mark in self.provider.line_down_errors):
            self._stop_line(verdict.error)
            return SendResult.not_handed_over(sms.id, verdict.error)
        permanent = verdict.permanent and status != 408
        return SendResult.refused(sms.id, verdict.error, permanent=permanent)

    def _stop_line(self, why: str, *, wait: float | None = None) -> None:
        with self._lock:
            self._halt = self._halt or why
            if wait:
                self._not_before = max(self._not_before, self._clock() + wait)

    # --- received SMS a provider keeps until asked (OVH) --------------------------------------

    def poll(self) -> None:
        """Between batches: the received SMS of a provider that keeps them (OVH without a
        sender: its short number takes replies), every `poll_every` seconds. Emitted with
        their id; deleted from the provider in `acknowledge`, once committed."""
        incoming = getattr(self.provider, "incoming", None)
        if incoming is None or not getattr(self.provider, "incoming_url", ""):
            return
        if self._emit is None:
            return  # not started: nobody would record them
        now = self._clock()
        if now < self._next_poll:
            return
        self._next_poll = now + self.poll_every
        try:
            found = incoming(self._exchange, self._timeouts(), self.name)
        except (client.NotSent, client.NoAnswer, ValueError) as e:
            log.warning("gateway %s: could not read the received SMS (%s)", self.name, e)
            return
        for sms in found:
            if sms.handle not in self._emitted:
                self._emitted.add(sms.handle)
                self.emit(sms)

    def acknowledge(self, events: Sequence[GatewayEvent]) -> None:
        forget = getattr(self.provider, "forget", None)
        if forget is None:
            return
        for event in events:
            if not isinstance(event, InboundSMS) or event.handle is None:
                continue
            try:
                forget(self._exchange, self._timeouts(), event.handle)
            except (client.NotSent, client.NoAnswer, ValueError) as e:
                # Still at the provider: read again later, stored once (its delivery_id).
                log.warning("gateway %s: %s", self.name, e)
            self._emitted.discard(event.handle)

    def _timeouts(self) -> dict[str, float]:
        return {"connect_timeout": self.connect_timeout, "read_timeout": self.timeout}

    # --- callbacks (called by the web endpoint, on its own thread) --------------------------

    @property
    def callback_answer(self) -> tuple[str, bytes]:
        return self.provider.callback_answer

    def callback(self, request: CallbackRequest) -> list[CallbackItem]:
        return self.provider.callback(request, gateway=self.name)
