"""Group commit: the writes of requests that arrive together, in one transaction.

A commit is an fsync (SQLite with synchronous=FULL, PostgreSQL's WAL flush), and on SQLite
the database's one write lock, waited for with sleeps that grow to 100 ms (its busy
handler). Eight API clients each sending one message per request spent their time there
(issue 19, bench/api.py: 83 a second, p99 1.3 s). `GroupCommit.run(fn)` makes the threads of
a process that write at the same moment take turns as a *leader*: the leader runs, in one
transaction, the work of every thread waiting at that moment (each in its own savepoint,
so that one refusal undoes only its own work), commits once, and hands each its result or
its exception; whoever arrived meanwhile is led by the next leader. Nobody is answered
before the commit that holds its work: durable before its answer, as before.

The work runs on the leader's thread and database connection, in the context of the thread
that asked: its `contextvars` (the request id), and its language and time zone, carried by
hand (Django keeps them in asgiref's `Local`, which hides one thread's values from another
even through a copied context).
Inside a transaction already (an Idempotency-Key holds the whole request in one), the work
runs at once, in that transaction, in a savepoint of its own (its refusal undoes its own
work, as in a group).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from django.db import connection, transaction
from django.utils import timezone, translation

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("context", "error", "event", "finished", "fn", "language", "value", "zone")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.context = contextvars.copy_context()
        self.language = translation.get_language()
        self.zone = timezone.get_current_timezone()
        self.event = threading.Event()
        self.finished = False
        self.value: T | None = None
        self.error: BaseException | None = None

    def call(self) -> T:
        with translation.override(self.language), timezone.override(self.zone):
            return self.fn()

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class GroupCommit:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._busy = False  # a leader is at work
        self.batches = 0  # how many transactions, and jobs: for the benchmark
        self.jobs = 0

    def run(self, fn: Callable[[], T]) -> T:
        """`fn()`'s result once it is committed (or its exception)."""
        if connection.in_atomic_block:
            with transaction.atomic():
                return fn()
        job: _Job[T] = _Job(fn)
        with self._lock:
            self._queue.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.event.wait()
            if job.finished:
                return job.outcome()
            # promoted: the previous leader is done, this thread leads the next group
        self._lead()
        return job.outcome()

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].event.set()  # the next leader (it stays in the queue)
                else:
                    self._busy = False
            for job in batch:
                job.finished = True
                job.event.set()

    def _commit(self, batch: list[_Job]) -> None:
        try:
            with _writers_turn(), transaction.atomic():
                if len(batch) == 1:
                    # alone: its refusal rolls back the transaction, its own work only (a
                    # savepoint would cost two statements for nothing)
                    batch[0].value = batch[0].context.run(batch[0].call)
                else:
                    for job in batch:
                        try:
                            with transaction.atomic():  # a savepoint: a refusal undoes its own
                                job.value = job.context.run(job.call)
                        except Exception as e:  # handed to its thread, raised there
                            job.error = e
        except BaseException as e:  # the commit failed: nothing of the group was kept
            for job in batch:
                if job.error is None:
                    job.error = e
                    job.value = None
            if not isinstance(e, Exception):
                raise
        self.batches += 1
        self.jobs += len(batch)


_turn_fd: int | None = None


@contextlib.contextmanager
def _writers_turn() -> Iterator[None]:
    """On SQLite, the groups' leaders of every process take turns on a lock file beside the
    database before asking for its write lock: the next one is woken when the previous one
    is done, where SQLite's busy handler sleeps (1, 2, 5, 10… up to 100 ms) and wakes to a
    lock another group may have taken again meanwhile (issue 19: the p99 of 8 clients on 2
    processes, 500-1,000 ms, came from those sleeps). The file (`<database>.writers`, empty)
    holds nothing: the lock is the kernel's, let go when its process ends, however it ends."""
    global _turn_fd
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or name.startswith((":memory:", "file:")):
        yield
        return
    if _turn_fd is None:
        _turn_fd = os.open(f"{name}.writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(_turn_fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(_turn_fd, fcntl.LOCK_UN)
