"""`smsdesk messages export --direction out|in [--q TEXT] [--since DATE]`: the Sent or Received
list as CSV on standard output, as the pages' Export button gives it (messaging/exports.py).

`smsdesk messages partition --by-month|--one-table [--dry-run]`: PostgreSQL, the message table
rebuilt partitioned by month or as one table again (messaging/partitions.py, the provider's
choice: docs/scaling.md). The table is locked while it runs; stop the worker first."""

from __future__ import annotations

import os
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.core.errors import ServiceError
from smsdesk.core.text import search_safe
from smsdesk.messaging import exports, partitions


class Command(BaseCommand):
    help = (
        "Export the sent or received SMS as CSV (streamed to standard output); on "
        "PostgreSQL, partition the message table by month or make it one table again."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        actions = parser.add_subparsers(dest="action", required=True, metavar="export|partition")
        export = actions.add_parser(
            "export", help="the Sent (out) or Received (in) list as CSV, newest first"
        )
        export.add_argument("--direction", required=True, metavar="out|in")
        export.add_argument("--q", default="", metavar="TEXT", help="the list's search")
        export.add_argument(
            "--since", default="", metavar="DATE", help="only from that day on (YYYY-MM-DD)"
        )
        add_org_argument(export)
        partition = actions.add_parser(
            "partition",
            help="PostgreSQL: the message table partitioned by month, or one table again "
            "(locked while it runs: stop the worker first)",
        )
        shape = partition.add_mutually_exclusive_group(required=True)
        shape.add_argument(
            "--by-month", action="store_true", help="one partition a month of created_at"
        )
        shape.add_argument("--one-table", action="store_true", help="one table (the default)")
        partition.add_argument(
            "--dry-run", action="store_true", help="say what it would do, change nothing"
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["action"] == "partition":
            self._partition(by_month=opts["by_month"], dry_run=opts["dry_run"])
            return
        since = _since(opts["since"])
        org = organisation_from(opts)
        try:
            chunks = exports.csv_chunks(
                direction=opts["direction"],
                search=search_safe(opts["q"]).strip(),
                since=since,
                org=org,
            )
        except ServiceError as e:
            raise CommandError(str(e.message)) from None
        try:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            self.stdout.flush()
        except BrokenPipeError:
            # `smsdesk messages export ... | head`: the reader has what it wanted. Point
            # stdout at nothing so that Python's own flush at exit does not complain.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)

    def _partition(self, *, by_month: bool, dry_run: bool) -> None:
        try:
            rows, months = partitions.plan(connection, by_month=by_month)
        except ServiceError as e:
            raise CommandError(str(e.message)) from None
        if by_month:
            first, last = months[0].strftime("%Y-%m"), months[-1].strftime("%Y-%m")
            what = _(
                "The message table (%(rows)s messages) rebuilt partitioned by month: "
                "%(months)s months, %(first)s to %(last)s, and a default partition."
            ) % {"rows": rows, "months": len(months), "first": first, "last": last}
        else:
            what = _("The message table (%(rows)s messages) rebuilt as one table.") % {"rows": rows}
        seconds = max(1, round(rows * 19 / 1_000_000))
        warning = _(
            "The table is locked while it runs (about 11-19 s a million messages, here up to "
            "%(seconds)s s): no page or send reads or writes a message meanwhile. Stop the "
            "worker first."
        ) % {"seconds": seconds}
        if dry_run:
            self.stdout.write(_("Dry run, nothing changed.") + " " + what)
            self.stdout.write(warning)
            return
        self.stdout.write(warning)
        try:
            partitions.rebuild(connection, by_month=by_month)
        except ServiceError as e:
            raise CommandError(str(e.message)) from None
        self.stdout.write(_("Done.") + " " + what)


def _since(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad(text)
    except ValueError:
        return _bad(text)


def _bad(text: str) -> date:
    raise CommandError(
        _("--since must be a date written YYYY-MM-DD (for example 2026-03-01), not %(text)r.")
        % {"text": text[:40]}
    )
