"""Mail beside received SMS: N SMS stored through the inbound path (`receive_inbound`, what
the worker calls), timed with no copy by email, with copies for 3 users (a `PendingCopy` per
user written in each SMS's transaction), and with those copies while the SMTP server refuses
connections (the outbox filling; the worker's mail thread trying). Then the outbox drained
to a real local SMTP server (aiosmtpd) by the worker's sending step: mails/s. Prints the SMS
stored per second of each round. Rounds alternate so the machine's load falls on each alike.

    .venv/bin/python bench/mail.py                    # SQLite, 1,000 SMS, 3 rounds
    .venv/bin/python bench/mail.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sms", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    _setup.add_database_option(parser)
    args = parser.parse_args()
    _setup.fresh_django(args.database_url)

    from django.conf import settings
    from django.utils import timezone

    from smsdesk.accounts.models import User
    from smsdesk.mail import delivery
    from smsdesk.mail.models import OutgoingMail
    from smsdesk.messaging import gateway_state, receiving
    from smsdesk.notify import copies
    from tests.mail.smtp import SMTPServer

    gateway_state.ensure("simulator", "simulator")
    users = [
        User.objects.create_user(f"u{i}", password="x" * 12, email=f"u{i}@example.org")
        for i in range(3)
    ]
    settings.SMSDESK_EMAIL_COPY_GROUP_SECONDS = 0
    gone = SMTPServer()
    gone.start()
    refused_port = gone.port
    gone.stop()
    counter = [0]

    def receive(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            counter[0] += 1
            receiving.receive_inbound(
                gateway="simulator",
                sender=f"+336{20000000 + counter[0]}",
                text="Bonjour, je confirme le rendez-vous de demain",
                received_at=timezone.now(),
            )
        return n / (time.perf_counter() - start)

    def with_copies(on: bool) -> None:
        User.objects.filter(id__in=[u.id for u in users]).update(
            email_copies="all" if on else "none"
        )

    results: dict[str, list[float]] = {"no copies": [], "copies": [], "copies, SMTP refusing": []}
    for _ in range(args.rounds):
        with_copies(False)
        results["no copies"].append(receive(args.sms))
        with_copies(True)
        results["copies"].append(receive(args.sms))
        settings.SMSDESK_EMAIL_URL = f"smtp://127.0.0.1:{refused_port}"
        stopping = threading.Event()
        sender = delivery.Sender(stopping, idle_sleep=0.05)
        sender.start()  # the worker's mail thread, failing against the refusing port
        results["copies, SMTP refusing"].append(receive(args.sms))
        copies.flush()
        stopping.set()
        sender.join(5)
    for name, rates in results.items():
        print(
            f"{name:>24}: {statistics.median(rates):8.0f} SMS stored/s (median of {len(rates)}: "
            + ", ".join(f"{r:.0f}" for r in rates)
            + ")"
        )
    copies.flush()
    waiting = OutgoingMail.objects.filter(state="pending").count()
    OutgoingMail.objects.update(next_attempt_at=timezone.now(), locked_until=None)
    server = SMTPServer()
    server.start()
    settings.SMSDESK_EMAIL_URL = server.url
    start = time.perf_counter()
    sent = delivery.run_due()
    took = time.perf_counter() - start
    server.stop()
    assert sent == waiting == len(server.inbox.messages), (sent, waiting)
    print(
        f"{'outbox drained':>24}: {sent} mails in {took:.2f} s = {sent / took:.0f} mails/s "
        f"to aiosmtpd (one connection for the round), none lost"
    )


if __name__ == "__main__":
    main()
