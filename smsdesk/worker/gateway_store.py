"""The database-backed `GatewayStore` the worker gives every gateway it builds.

Gateways have no Django (DESIGN.md, "Layers"); a gateway that must keep something across a
restart, as a real network does (the simulator's pending delivery reports, the events
`smsdesk simulate` injects from another process, a simulated outage), is given this store and
sees only the interface of `smsdesk.gateways.base.GatewayStore`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

from django.db import InterfaceError, OperationalError, connection

from smsdesk.gateways.base import GatewayStore, StoredItem
from smsdesk.worker.models import GatewayStoreItem


class DatabaseGatewayStore(GatewayStore):
    def __init__(self, gateway: str) -> None:
        self.gateway = gateway

    def put(self, items: Sequence[StoredItem]) -> None:
        # A network does not lose what it owes because our database connection dropped:
        # try again on a fresh connection before giving up (the caller then hands nothing).
        for attempt in range(3):
            try:
                self._put(items)
                return
            except (OperationalError, InterfaceError):
                if attempt == 2 or connection.in_atomic_block:
                    raise
                with contextlib.suppress(OperationalError, InterfaceError):
                    connection.close()
                time.sleep(0.2 * (attempt + 1))

    def _put(self, items: Sequence[StoredItem]) -> None:
        if items:
            GatewayStoreItem.objects.bulk_create(
                [
                    GatewayStoreItem(
                        gateway=self.gateway, kind=i.kind, due=i.due, payload=dict(i.payload)
                    )
                    for i in items
                ],
                batch_size=500,
            )

    def items(
        self, kinds: Sequence[str], *, due_before: float | None = None, limit: int = 1000
    ) -> list[StoredItem]:
        rows = GatewayStoreItem.objects.filter(gateway=self.gateway, kind__in=list(kinds))
        if due_before is not None:
            rows = rows.filter(due__lte=due_before)
        return [
            StoredItem(kind, payload, due, item_id)
            for item_id, kind, due, payload in rows.order_by("id").values_list(
                "id", "kind", "due", "payload"
            )[:limit]
        ]

    def delete(self, ids: Sequence[int]) -> None:
        if ids:
            GatewayStoreItem.objects.filter(id__in=list(ids)).delete()
