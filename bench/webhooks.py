"""Webhooks beside a send: N messages queued, sent and delivered by the worker (simulator),
timed without any endpoint, with an endpoint to a receiver that answers at once, and with two
endpoints, one that hangs 30 s and one that answers 500. Every change of status writes its
events in the worker's transactions (the outbox); the receivers are called by the worker's
own webhook thread. Prints the seconds each run takes to reach `delivered` for all, and the
deliveries made meanwhile. Rounds alternate (none, fast, bad, none, ...) so the machine's
load falls on each alike. Usage:

    .venv/bin/python bench/webhooks.py                       # SQLite, 2,000 messages, 3 rounds
    .venv/bin/python bench/webhooks.py --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench
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
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    _setup.add_database_option(parser)
    args = parser.parse_args()
    _setup.fresh_django(args.database_url, SMSDESK_WEBHOOK_ALLOW_PRIVATE="true")

    from smsdesk.accounts.models import User
    from smsdesk.directory.services import Targets
    from smsdesk.gateways.simulator import SimulatorGateway
    from smsdesk.messaging import sending
    from smsdesk.messaging.models import Message
    from smsdesk.webhooks import services
    from smsdesk.webhooks.models import Delivery, Endpoint
    from smsdesk.worker.loop import Worker
    from tests.webhooks.receiver import receiver

    admin = User.objects.create_user("bench", password="x" * 12, role=User.Role.ADMIN)

    def run(n: int) -> tuple[float, int]:
        campaign = sending.create_campaign(
            author=admin,
            body="Bonjour",
            targets=Targets(numbers=[f"+336{10000000 + i}" for i in range(n)]),
            send_at=None,
        )
        ids = [m.id for m in campaign.created_messages]
        worker = Worker([SimulatorGateway(delivery_delay=0, batch_size=500)], idle_sleep=0.05)
        thread = threading.Thread(target=worker.run, daemon=True)
        started = time.monotonic()
        thread.start()
        delivered = Message.objects.filter(id__in=ids, status=Message.Status.DELIVERED)
        while delivered.count() < n:
            time.sleep(0.05)
        took = time.monotonic() - started
        done = Delivery.objects.filter(state=Delivery.State.DELIVERED).count()
        worker.stop()
        thread.join(60)
        return took, done

    times: dict[str, list[float]] = {"none": [], "fast": [], "hanging+500": []}
    with receiver(204) as fast, receiver("hang") as hung, receiver(500) as failing:
        for _round in range(args.rounds):
            for kind in times:
                for endpoint in Endpoint.objects.all():
                    services.delete_endpoint(by=admin, endpoint_id=endpoint.id)
                Message.objects.all().delete()
                urls = {"none": [], "fast": [fast.url], "hanging+500": [hung.url, failing.url]}
                for url in urls[kind]:
                    services.create_endpoint(by=admin, url=url, events=["message.status"])
                took, done = run(args.messages)
                times[kind].append(took)
                print(
                    f"{kind:>12}: {took:6.2f} s to deliver {args.messages}, {done} webhook "
                    f"deliveries made meanwhile",
                    flush=True,
                )
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{db}, {args.messages} messages, median of {args.rounds}:")
    for kind, values in times.items():
        print(f"  {kind:>12}: {statistics.median(values):6.2f} s")


if __name__ == "__main__":
    main()
