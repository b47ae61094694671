"""What every benchmark does before it measures: a throw-away data directory, a fresh
database (SQLite in that directory, or the PostgreSQL database named by --database-url,
dropped and created again), smsdesk's settings pointed at them, Django set up and migrated.

A script run as `.venv/bin/python bench/NAME.py` finds this module beside it (`import
_setup`), which puts the checkout on sys.path for `bench` and `tests`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL database, DROPPED and created again (use a name of your own); "
        "default: SQLite in a temporary directory",
    )


def environment(database_url: str = "", data_dir: str = "", **settings: str) -> tuple[str, str]:
    """Point smsdesk's settings at `data_dir` (a new temporary one by default) and the
    database (SQLite in it by default); `settings`: more SMSDESK_* variables. Returns
    (database URL, data directory). Nothing is created in the database yet."""
    data_dir = data_dir or tempfile.mkdtemp(prefix="smsdesk-bench-")
    os.makedirs(data_dir, exist_ok=True)
    url = database_url or f"sqlite:///{data_dir}/bench.sqlite3"
    os.environ.update(
        {
            "SMSDESK_DATA_DIR": data_dir,
            "SMSDESK_DATABASE_URL": url,
            "SMSDESK_LOG_LEVEL": "WARNING",
            # the pages are read through Django's Client
            "SMSDESK_ALLOWED_HOSTS": "testserver",
            "DJANGO_SETTINGS_MODULE": "smsdesk.settings",
            **settings,
        }
    )
    return url, data_dir


def empty_database(url: str) -> None:
    """Start from nothing: PostgreSQL's database dropped and created again, SQLite's files
    removed."""
    if url.startswith("postgres"):
        import psycopg

        base, _, name = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def start_django(*, migrate: bool = True) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def fresh_django(database_url: str = "", **settings: str) -> str:
    """The usual start: environment(), an empty database, Django set up and migrated.
    Returns the database URL."""
    url, _ = environment(database_url, **settings)
    empty_database(url)
    start_django()
    return url
