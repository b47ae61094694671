"""Who acts and from where, for the entries of the audit log: a context variable set per
request (audit.middleware), per API call (the token check), per command (cli.py). No Django
here, so that the command line can set it before Django starts."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

WEB, API, CLI, SYSTEM = "web", "api", "cli", "system"


@dataclass(frozen=True)
class Context:
    actor: Any = None  # a User, or None: the platform (command line, worker, the network)
    via: str = SYSTEM
    ip: str = ""
    token: str = ""


_context: contextvars.ContextVar[Context] = contextvars.ContextVar(
    "smsdesk_audit",
    default=Context(),  # noqa: B039  (frozen: replaced, never changed in place)
)


def current() -> Context:
    return _context.get()


@contextmanager
def bound(**kwargs: Any) -> Iterator[Context]:
    token = _context.set(replace(_context.get(), **kwargs))
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def bind(**kwargs: Any) -> None:
    """For the rest of this request or command (a `bound` block around it resets it)."""
    _context.set(replace(_context.get(), **kwargs))
