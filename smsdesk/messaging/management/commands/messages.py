"""`smsdesk messages export --direction out|in [--q TEXT] [--since DATE]`: the Sent or Received
list as CSV on standard output, as the pages' Export button gives it (messaging/exports.py)."""

from __future__ import annotations

import os
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.core.errors import ServiceError
from smsdesk.core.text import search_safe
from smsdesk.messaging import exports


class Command(BaseCommand):
    help = "Export the sent or received SMS as CSV (streamed to standard output)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        actions = parser.add_subparsers(dest="action", required=True, metavar="export")
        export = actions.add_parser(
            "export", help="the Sent (out) or Received (in) list as CSV, newest first"
        )
        export.add_argument("--direction", required=True, metavar="out|in")
        export.add_argument("--q", default="", metavar="TEXT", help="the list's search")
        export.add_argument(
            "--since", default="", metavar="DATE", help="only from that day on (YYYY-MM-DD)"
        )
        add_org_argument(export)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
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
