"""Local HTTP servers, in threads, that play SMS providers with their real request and answer
shapes: OVH (signed requests), Octopush (api-login / api-key headers), Twilio (basic auth,
forms), SMSGate (basic auth, the client's JSON). Each checks what a real one checks (a wrong
signature or key is a 401/403), answers as it does, and can be told to misbehave for the
next requests: hang, fail with a status (and headers), answer garbage, cut the connection.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Provider:
    kind: str  # ovh, octopush, twilio, smsgate
    secret: str = "app-secret"  # OVH's application secret, Twilio's token, SMSGate's password
    seen: list[Seen] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)  # what to do for the next requests
    hang_for: float = 30.0
    ids: Any = field(default_factory=lambda: itertools.count(1000))
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    inbox: dict[int, dict[str, Any]] = field(default_factory=dict)  # OVH's received SMS
    refuse_delete: bool = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next_action(self) -> Any:
        with self.lock:
            return self.script.pop(0) if self.script else None

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        """What the real provider answers to a well-formed, authorised request."""
        n = next(self.ids)
        if self.kind == "ovh":
            data = seen.json()
            return (
                200,
                {},
                json.dumps(
                    {
                        "ids": [n],
                        "validReceivers": data["receivers"],
                        "invalidReceivers": [],
                        "totalCreditsRemoved": 1,
                        "tag": "",
                    }
                ).encode(),
            )
        if self.kind == "octopush":
            return (
                201,
                {},
                json.dumps(
                    {
                        "sms_ticket": f"sms_{n}",
                        "number_of_contacts": 1,
                        "total_cost": 0.05,
                        "number_of_sms_needed": 1,
                        "residual_credit": 99.5,
                    }
                ).encode(),
            )
        if self.kind == "twilio":
            form = seen.form()
            return (
                201,
                {},
                json.dumps(
                    {
                        "sid": f"SM{n:032d}",
                        "status": "queued",
                        "to": form["To"],
                        "body": form["Body"],
                    }
                ).encode(),
            )
        data = seen.json()  # smsgate
        return (
            202,
            {},
            json.dumps(
                {
                    "id": data.get("id") or f"gen{n}",
                    "state": "Pending",
                    "isHashed": False,
                    "isEncrypted": False,
                    "recipients": [
                        {"phoneNumber": p, "state": "Pending"} for p in data["phoneNumbers"]
                    ],
                }
            ).encode(),
        )

    def authorised(self, seen: Seen) -> bool:
        h = seen.headers
        if self.kind == "ovh":
            raw = "+".join(
                [
                    self.secret,
                    h.get("x-ovh-consumer", ""),
                    seen.method,
                    f"{self.base}{seen.path}",
                    seen.body.decode(),
                    h.get("x-ovh-timestamp", ""),
                ]
            )
            return h.get("x-ovh-signature") == "$1$" + hashlib.sha1(raw.encode()).hexdigest()  # noqa: S324
        if self.kind == "octopush":
            return h.get("api-key") == self.secret and bool(h.get("api-login"))
        user = "AC1" if self.kind == "twilio" else "phone"
        expected = "Basic " + base64.b64encode(f"{user}:{self.secret}".encode()).decode()
        return h.get("authorization") == expected


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._ovh_inbox("GET")

        def do_DELETE(self) -> None:
            self._ovh_inbox("DELETE")

        def _ovh_inbox(self, method: str) -> None:
            """OVH's /sms/{service}/incoming: the ids, one SMS, or its removal."""
            seen = Seen(method, self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
            with provider.lock:
                provider.seen.append(seen)
            if not provider.authorised(seen):
                self._send(403, {}, b'{"message":"Invalid signature"}')
                return
            tail = self.path.rsplit("/incoming", 1)[-1].strip("/")
            with provider.lock:
                if not tail:
                    self._send(200, {}, json.dumps(sorted(provider.inbox)).encode())
                elif int(tail) not in provider.inbox:
                    self._send(404, {}, b'{"message":"not found"}')
                elif method == "GET":
                    self._send(200, {}, json.dumps(provider.inbox[int(tail)]).encode())
                elif provider.refuse_delete:
                    self._send(500, {}, b"{}")
                else:
                    del provider.inbox[int(tail)]
                    self._send(200, {}, b"null")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            seen = Seen("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with provider.lock:
                provider.seen.append(seen)
            action = provider.next_action()
            if action == "hang":
                time.sleep(provider.hang_for)
                return
            if action == "cut":
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if action == "garbage":
                self._send(200, {"Content-Type": "text/html"}, b"<html>maintenance</html>")
                return
            if isinstance(action, tuple):
                status, headers, payload = action
                self._send(status, headers, payload)
                return
            if not provider.authorised(seen):
                self._send(
                    401 if provider.kind != "ovh" else 403,
                    {},
                    b'{"message":"Invalid signature","code":20003}',
                )
                return
            self._send(*provider.answer(seen))

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            headers = {"Content-Type": "application/json", **headers}
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def serving(kind: str, **kwargs: Any) -> Iterator[Provider]:
    provider = Provider(kind, **kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider), bind_and_activate=False)
    server.request_queue_size = 128  # a line with 16 requests at a time, and the bench
    server.server_bind()
    server.server_activate()
    server.daemon_threads = True
    provider.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def path_of(url: str) -> str:
    return urlsplit(url).path
