"""One HTTP exchange with a provider, saying what the worker must know: did anything leave?

The standard library's `http.client`, not requests: the worker must tell "nothing left us"
(connection refused, unknown host, TLS refused: the message goes back to the queue, no try
used) from "the request left and no answer came" (a timeout while reading: the provider may
have taken it, the message is `unknown`). `http.client` shows the two moments apart
(`connect()`, then `request()` and `getresponse()`); requests folds both into
`ConnectionError`/`Timeout` families whose members cross that line (a `ReadTimeout` can come
from a proxy's connect).

No Django here (gateways are transports).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

USER_AGENT = "smsdesk-gateway/1"
MAX_ANSWER = 256 * 1024  # what is read of an answer; a provider's answer is small


class NotSent(Exception):
    """Nothing of the request left us (connect refused, DNS, TLS handshake, connect timeout)."""


class NoAnswer(Exception):
    """The request left (maybe only part of it) and no whole answer came back: the provider
    may have taken it."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def text(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace").strip()

    def retry_after(self, now: float | None = None) -> float | None:
        """Seconds the provider asks us to wait (Retry-After: seconds or an HTTP date)."""
        raw = self.headers.get("retry-after", "").strip()
        if not raw:
            return None
        if raw.isdigit():
            return float(raw)
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        now = time.time() if now is None else now
        return max(0.0, when.timestamp() - now)


def exchange(request: Request, *, connect_timeout: float, read_timeout: float) -> Answer:
    """Send `request`, return the whole answer. NotSent: nothing left; NoAnswer: it may have."""
    url = urlsplit(request.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise NotSent(f"not an http(s) URL: {url.scheme}://{url.hostname or ''}")
    port = url.port or (443 if url.scheme == "https" else 80)
    conn: http.client.HTTPConnection
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(
            url.hostname, port, timeout=connect_timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(url.hostname, port, timeout=connect_timeout)
    where = f"{url.hostname}:{port}"
    try:
        try:
            conn.connect()
        except socket.gaierror as e:
            raise NotSent(f"cannot find the provider's host {url.hostname!r} ({e})") from None
        except ConnectionRefusedError:
            raise NotSent(f"connection refused by {where}") from None
        except TimeoutError:
            raise NotSent(f"no connection to {where} within {connect_timeout:g} s") from None
        except ssl.SSLError as e:
            raise NotSent(f"TLS refused by {where}: {e.reason or e}") from None
        except OSError as e:
            raise NotSent(f"cannot reach {where}: {e.strerror or e}") from None
        assert conn.sock is not None
        conn.sock.settimeout(read_timeout)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **request.headers}
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(request.body))
        try:
            conn.request(request.method, path, body=request.body or None, headers=headers)
            response = conn.getresponse()
            body = response.read(MAX_ANSWER)
        except TimeoutError:
            raise NoAnswer(f"no answer from {where} within {read_timeout:g} s") from None
        except (OSError, http.client.HTTPException) as e:
            raise NoAnswer(f"the connection to {where} broke: {e or type(e).__name__}") from None
        return Answer(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=body,
        )
    finally:
        conn.close()
