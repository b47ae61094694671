"""The worker's writers take turns on SQLite (worker/turns.py): one at a time, the next let
in as soon as the last lets go; nothing on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from smsdesk.worker.turns import write_turn

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_writer_at_a_time_and_the_next_let_in_when_the_last_lets_go() -> None:
    order: list[str] = []
    holding = threading.Event()
    entered = threading.Event()
    done = threading.Event()

    def first() -> None:
        with write_turn():
            with write_turn():  # nested: the turn is ours already, not waited for
                order.append("first in")
            holding.set()
            # SQLite: the second cannot come in while we hold the turn (this waits in vain).
            entered.wait(1.0)
            order.append("first out")

    def second() -> None:
        holding.wait(10)
        with write_turn():
            order.append("second in")
            entered.set()
        done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert done.is_set()
    if connection.vendor == "sqlite":
        assert order == ["first in", "first out", "second in"]
    else:  # PostgreSQL locks rows, not the database: no turns
        assert order == ["first in", "second in", "first out"]
