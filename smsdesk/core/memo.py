"""Answers kept for the length of one web request: what every page asks several times and
that does not change while it is answered (which organisation owns each line, the visits
under way), read once per request instead of once per caller.

`RequestMemoMiddleware` opens the memo for the request and drops it at the end; outside a
request (the worker, the commands, a test calling a service) nothing is kept and every
call reads afresh, so a long-running process never works from an old answer. A write that
changes a kept answer calls `forget(key)` (lines.py does it on every save of a line
assignment or an organisation).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse

T = TypeVar("T")

_memo: ContextVar[dict[str, Any] | None] = ContextVar("smsdesk_request_memo", default=None)


def kept(key: str, compute: Callable[[], T]) -> T:
    """`compute()`'s answer, computed at most once per request under `key` (every call
    outside a request computes)."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    answer: T = memo[key]
    return answer


def forget(key: str) -> None:
    """The kept answer under `key` is stale: the next call computes it again."""
    memo = _memo.get()
    if memo is not None:
        memo.pop(key, None)


class RequestMemoMiddleware:
    """Opens the memo for each request (and closes it, even on an error)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _memo.set({})
        try:
            return self.get_response(request)
        finally:
            _memo.reset(token)
