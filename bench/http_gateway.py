"""HTTP provider benchmark: messages a second through a local fake provider.

Two figures per concurrency: the gateway alone (`send_many` against the local server playing
Twilio: request built, sent, answer read), and the worker's whole path (N messages queued by
`create_campaign`, claimed, handed over and recorded `sent` by a GatewayRunner in this
process, on SQLite or the PostgreSQL database named). The fake provider answers at once: the
figures are smsdesk's cost, a real provider's round trip (50-300 ms) divides them by
`concurrency` requests in flight.

    .venv/bin/python bench/http_gateway.py
    .venv/bin/python bench/http_gateway.py --messages 5000 --database-url postgresql://postgres@127.0.0.1:5432/smsdesk_bench_http
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import _setup  # the checkout on sys.path, a fresh database (bench/_setup.py)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,4,16")
    _setup.add_database_option(parser)
    args = parser.parse_args()
    _setup.fresh_django(args.database_url)

    from django.db import connection
    from django.db.models import Count

    from smsdesk.gateways import registry
    from smsdesk.gateways.base import OutboundSMS
    from smsdesk.messaging import gateway_state, sending
    from smsdesk.messaging.models import Message
    from tests.gateways.http_providers import serving
    from tests.worker.helpers import drain, runner_for

    print(f"database: {connection.vendor}; N = {args.messages:,}; load average {os.getloadavg()}")
    with serving("twilio", secret="tok") as p:
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            entry = f"tw=twilio://AC1:tok@127.0.0.1:{p.port}?tls=0&from=X&concurrency={concurrency}"
            gateway = registry.build(registry.parse_spec(entry))
            batch = [OutboundSMS(i, "+33612345678", "Bonjour") for i in range(args.messages)]
            start = time.perf_counter()
            for i in range(0, len(batch), gateway.batch_size):
                gateway.send_many(batch[i : i + gateway.batch_size])
            alone = args.messages / (time.perf_counter() - start)

            from django.conf import settings

            settings.SMSDESK_GATEWAYS = [entry]
            gateway_state.register_all([("tw", "twilio")])
            Message.objects.all().delete()
            numbers = [f"+3361{n:07d}" for n in range(args.messages)]
            for i in range(0, len(numbers), 1000):
                sending.create_campaign(author=None, body="Bonjour", to=numbers[i : i + 1000])
            runner = runner_for(gateway)
            start = time.perf_counter()
            waiting = (Message.Status.QUEUED, Message.Status.SENDING)
            while Message.objects.filter(status__in=waiting).exists():
                drain(runner, rounds=200)
            elapsed = time.perf_counter() - start
            sent = Message.objects.filter(status=Message.Status.SENT).count()
            whole = sent / elapsed
            if sent != args.messages:
                states = Message.objects.values_list("status").annotate(n=Count("id"))
                print(f"  ! only {sent} sent: {dict(states)}")
            print(
                f"concurrency {concurrency:>2}: gateway alone {alone:8.0f} msg/s; "
                f"worker path (claim, send, record) {whole:8.0f} msg/s "
                f"[{threading.active_count()} threads]"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
