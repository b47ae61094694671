"""A real HTTP receiver for webhook tests: a thread running http.server on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # what it answers: a status code, "hang" (no answer for `hang_seconds`), or a redirect
    answer: int | str = 204
    hang_seconds: float = 30.0
    location: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    answered: int = 0


@contextmanager
def receiver(answer: int | str = 204, *, location: str = "") -> Iterator[Receiver]:
    state = Receiver(url="", answer=answer, location=location)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            if state.answer == "hang":
                state.release.wait(state.hang_seconds)
                state.answered += 1
                return
            if state.answer == "redirect":
                self.send_response(302)
                self.send_header("Location", state.location)
            else:
                self.send_response(int(state.answer))
            self.send_header("Content-Length", "0")
            self.end_headers()
            state.answered += 1

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
