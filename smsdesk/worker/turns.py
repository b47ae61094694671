"""The worker's writers take turns on SQLite, woken at once when the last one commits.

SQLite has one writer at a time; the others wait in its busy handler, which sleeps 1, 2,
5, 10, 15, 20, 25 ... up to 100 ms between tries: a writer that finds the lock taken for
30 ms wakes after 33 or 53. The worker's lane threads (one per SMPP bind) and the workers of
one host (SQLite is one host's database) write a batch each, all the time, so they met
there at every batch (bench/RESULTS.md, "One line of 2 binds"). `write_turn()` makes them
queue instead: a lock of this process, then an exclusive `flock` on a file beside the
database, which the kernel hands to the next waiter the moment it is let go. Taken before
the transaction begins and let go after its commit: whoever waits for a turn holds no
database lock, so nobody waits in a circle. Other writers (the web pages, housekeeping)
do not take turns and wait in SQLite's handler as before. On PostgreSQL: nothing (rows are
locked one by one, writers do not exclude each other).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import IO

from django.db import connection

_lock = threading.RLock()
_files: dict[str, IO[bytes]] = {}
_depth = 0  # turns taken and not let go by the thread that holds `_lock`


def _turn_file() -> IO[bytes] | None:
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = f"{name}.turns"
    handle = _files.get(path)
    if handle is None:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)  # empty, 0600 as the database
        handle = _files[path] = os.fdopen(fd, "rb")
    return handle


@contextlib.contextmanager
def write_turn() -> Iterator[None]:
    """Wrap one write transaction of the worker's hot path (a claim, a batch's results)."""
    if connection.vendor != "sqlite":
        yield
        return
    global _depth
    with _lock:
        handle = _turn_file() if _depth == 0 else None  # nested: the turn is ours already
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if handle is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
