"""Ending one user's sessions among many: the indexed DELETE of `accounts.services.end_sessions`
(the `user_id` column of `LoginSession`, smsdesk/accounts/sessions.py) against what Django's
plain database sessions would need, decoding every row to find the user's.

Seeds N sessions spread over U users in both tables (the same session data), then, alternated
over --runs rounds, ends the sessions of one user (N / U sessions) each way and prints the
median and worst. Usage:

    .venv/bin/python bench/sessions.py --sessions 100000
    .venv/bin/python bench/sessions.py --sessions 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_sessions_bench

On PostgreSQL the database named in the URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    _setup.add_database_option(parser)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    _setup.fresh_django(args.database_url)
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.utils import timezone

    from smsdesk.accounts import services
    from smsdesk.accounts.models import LoginSession, User
    from smsdesk.accounts.sessions import SessionStore

    users = User.objects.bulk_create(
        [User(username=f"user{i}", password="!") for i in range(args.users + args.runs)]
    )
    store = SessionStore()
    expire = timezone.now() + timedelta(hours=12)

    def seed(owners: list[User]) -> None:
        """N / U sessions for each of `owners`, in both tables."""
        per_user = args.sessions // args.users
        ours, django_rows = [], []
        for user in owners:
            for n in range(per_user):
                key = f"{user.pk:08d}{n:06d}".ljust(32, "x")
                data = store.encode({SESSION_KEY: str(user.pk), "_auth_user_hash": "h" * 64})
                ours.append(LoginSession(key, data, expire, user_id=user.pk))
                django_rows.append(Session(key, data, expire))
        LoginSession.objects.bulk_create(ours, batch_size=5000)
        Session.objects.bulk_create(django_rows, batch_size=5000)

    t0 = time.perf_counter()
    seed(users[: args.users])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"database: {connection.vendor}")
    print(
        f"seeded {LoginSession.objects.count():,} sessions of {args.users:,} users in each "
        f"table in {time.perf_counter() - t0:.1f} s"
    )

    def by_decoding(user: User) -> int:
        """Without a user column: read and decode every session to find the user's."""
        keys = [
            s.session_key
            for s in Session.objects.iterator(chunk_size=2000)
            if s.get_decoded().get(SESSION_KEY) == str(user.pk)
        ]
        return Session.objects.filter(session_key__in=keys).delete()[0]

    indexed, decoding = [], []
    for run in range(args.runs):
        # a fresh victim each round, in both tables, so each way deletes the same rows
        victim = users[args.users + run]
        seed([victim])
        t0 = time.perf_counter()
        ended = services.end_sessions(victim)
        indexed.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ended_too = by_decoding(victim)
        decoding.append((time.perf_counter() - t0) * 1000)
        assert ended == ended_too == args.sessions // args.users, (ended, ended_too)
    for name, times in (("end_sessions (user_id index)", indexed), ("decode every row", decoding)):
        print(
            f"{name}: median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms "
            f"({args.runs} runs, {args.sessions // args.users} sessions ended each)"
        )


if __name__ == "__main__":
    main()
