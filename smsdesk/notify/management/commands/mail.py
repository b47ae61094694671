"""`smsdesk mail receive`: one mail on standard input, for a mail server's pipe alias.

Exit codes, as a mail server reads them: 0 sent (or the same mail received before: sent
once), 2 refused (the reason on one line on stderr, which the mail server puts in its bounce),
75 (EX_TEMPFAIL) the database cannot be reached: the mail server keeps the mail and tries again.
"""

import sys

from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError

from smsdesk.notify import replies

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Mail received: a reply to the copy of an SMS, sent on as an SMS."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="what", required=True)
        receive = sub.add_parser(
            "receive",
            help="read one mail (RFC 822) on standard input and send the reply it holds as an "
            "SMS; exit 0 sent, 2 refused (why on stderr), 75 try again later",
        )
        receive.add_argument(
            "--recipient",
            default="",
            metavar="ADDRESS",
            help="the address the mail was delivered to (reply+TOKEN@...), when the mail "
            "server gives it; otherwise read from the mail's headers",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        raw = sys.stdin.buffer.read(replies.MAX_BYTES + 1)
        try:
            outcome = replies.receive(raw, recipient=opts["recipient"])
        except replies.Refused as refused:
            self.stderr.write(f"smsdesk: refused: {' '.join(refused.reason.split())}")
            sys.exit(2)
        except (OperationalError, InterfaceError) as e:
            self.stderr.write(f"smsdesk: the database cannot be reached, try again: {e}".strip())
            sys.exit(EX_TEMPFAIL)
        if outcome.campaign_id is None:
            self.stderr.write(
                f"smsdesk: {outcome.message_id} was received before: sent once, not again"
            )
        else:
            self.stdout.write(f"sent to {outcome.peer} (send {outcome.campaign_id})")
