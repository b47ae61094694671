"""What is known of each configured gateway: the only code that writes `GatewayState`.

The worker reports here what its gateways do (up, down and why, health); the services and
pages read it (the default gateway of a new message, the warning banner, the home page).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from smsdesk.gateways import registry
from smsdesk.gateways.base import Health
from smsdesk.messaging.models import GatewayState


def configured() -> list[registry.GatewaySpec]:
    """SMSDESK_GATEWAYS, parsed once (raises GatewayError when it is wrong)."""
    return registry.configured(settings.SMSDESK_GATEWAYS)


def default_gateway() -> GatewayState:
    """The first gateway of SMSDESK_GATEWAYS: it sends messages that name no other."""
    spec = configured()[0]
    return ensure(spec.name, spec.kind)


def ensure(name: str, kind: str = "unknown") -> GatewayState:
    """The row of a gateway, created on first use (two callers at once get the same row)."""
    state, _created = GatewayState.objects.get_or_create(name=name, defaults={"kind": kind})
    return state


def register_all(gateways: Iterable[tuple[str, str]]) -> None:
    """A worker starts with these (name, kind): make sure each has its row, kind up to date."""
    for name, kind in gateways:
        GatewayState.objects.update_or_create(name=name, defaults={"kind": kind})


def record_health(event: Health) -> None:
    GatewayState.objects.filter(name=event.gateway).update(
        connected=event.connected,
        detail=event.detail[:200],
        operator=event.operator[:100],
        signal_percent=event.signal_percent,
        extra=_bounded(event.extra),
        updated_at=event.at,
    )


def _bounded(extra: dict[str, str]) -> dict[str, str]:
    """The device's own words (a modem's answers): a few short strings, nothing more."""
    return {str(k)[:30]: str(v)[:100] for k, v in list(extra.items())[:12]}


def mark_up(name: str, *, at: datetime | None = None) -> None:
    GatewayState.objects.filter(name=name).update(
        connected=True,
        down_since=None,
        down_reason="",
        retrying=True,
        updated_at=at or timezone.now(),
    )


def mark_down(name: str, *, reason: str, since: datetime, retrying: bool) -> None:
    """It cannot be used since `since` (the first failure of this outage) because `reason`."""
    GatewayState.objects.filter(name=name).update(
        connected=False,
        down_since=since,
        down_reason=reason[:255],
        retrying=retrying,
        updated_at=timezone.now(),
    )


def down(names: Iterable[str]) -> list[GatewayState]:
    """Those of these gateways that are down, oldest outage first."""
    return list(
        GatewayState.objects.filter(name__in=list(names), down_since__isnull=False).order_by(
            "down_since", "name"
        )
    )
