"""Webhook endpoints: registered, listed, disabled, deleted by an organisation's
administrators (page and API alike); a delivery sent again on request.

The rules live here, the page (views.py) and the API (api/webhooks.py) only call them."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts import access
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action
from smsdesk.core import tenancy, text
from smsdesk.core.errors import ServiceError, collect
from smsdesk.webhooks import events as event_log
from smsdesk.webhooks import network
from smsdesk.webhooks.models import Attempt, Delivery, Endpoint, Event, EventType

MAX_ENDPOINTS = 20


class InvalidURL(ServiceError):
    code = "invalid_url"


class InvalidEvents(ServiceError):
    code = "invalid_events"


class TooManyEndpoints(ServiceError):
    code = "too_many_endpoints"
    http_status = 409


class NotFound(ServiceError):
    code = "not_found"
    http_status = 404


def _admin(by: Any) -> None:
    access.require_admin(by, _("Only an administrator manages webhooks."))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Smsdesk-Signature` header: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def body_of(event: Event) -> bytes:
    """The raw body of a delivery: the same bytes at every try."""
    return json.dumps(
        {
            "id": f"evt_{event.id}",
            "type": event.type,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": event.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def check_url(raw: str) -> str:
    """An http(s) address smsdesk may call: refused early when its host is (or resolves to) a
    private address; the worker checks again on the address it connects to."""
    url = str(raw).strip()
    if not url:
        raise InvalidURL(_("Give the address to call, http:// or https://."), field="url")
    try:
        text.check_typed(url, field="url")
        _scheme, host, port, _path = network.check_url(url)
    except (text.ControlCharacter, network.Refused) as e:
        raise InvalidURL(
            _("This address cannot be used: %(why)s.") % {"why": _why(e)}, field="url"
        ) from None
    if not settings.SMSDESK_WEBHOOK_ALLOW_PRIVATE:
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        try:
            if literal is not None:
                reason = network.refused_reason(literal)
                if reason:
                    raise network.Refused(f"{host} is {reason}")
            else:
                network.resolve(host, port, allow_private=False)
        except network.Refused as e:
            raise InvalidURL(
                _(
                    "This address cannot be used: %(why)s. Webhooks go to public addresses "
                    "only (SMSDESK_WEBHOOK_ALLOW_PRIVATE=true lifts it)."
                )
                % {"why": e},
                field="url",
            ) from None
    return url


def _why(e: Exception) -> str:
    return str(getattr(e, "message", e))


def check_events(raw: Any) -> list[str]:
    known = list(EventType.values)
    if not isinstance(raw, list) or not raw:
        raise InvalidEvents(
            _("Choose at least one event: %(known)s.") % {"known": ", ".join(known)},
            field="events",
        )
    unknown = [str(e)[:40] for e in raw if e not in known]
    if unknown:
        raise InvalidEvents(
            _("Unknown events: %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(known)},
            field="events",
        )
    return [e for e in known if e in raw]  # the declared order, each once


@transaction.atomic
def create_endpoint(
    *, by: Any, url: str, events: Any, description: str = "", org: Any = None
) -> tuple[Endpoint, str]:
    """A new endpoint of organisation `org`; returns it and its secret (shown once)."""
    _admin(by)
    org = tenancy.resolve(org)
    url, kinds = collect(lambda: check_url(url), lambda: check_events(events))
    description = text.check_typed(str(description).strip(), field="description")[:200]
    if Endpoint.objects.for_org(org).count() >= MAX_ENDPOINTS:
        raise TooManyEndpoints(
            _("At most %(n)d endpoints: delete one you no longer use.") % {"n": MAX_ENDPOINTS}
        )
    secret = Endpoint.new_secret()
    endpoint = Endpoint.objects.create(
        organisation=org,
        url=url,
        events=kinds,
        secret=secret,
        description=description,
        created_by=by,
    )
    transaction.on_commit(event_log.forget)
    event_log.forget()
    audit.record(
        Action.SETTINGS, endpoint, actor=by, after={"webhook": url, "events": kinds}, label=url
    )
    return endpoint, secret


def endpoints(*, by: Any, org: Any = None) -> QuerySet[Endpoint]:
    _admin(by)
    return Endpoint.objects.for_org(tenancy.resolve(org))


def get_endpoint(*, by: Any, endpoint_id: int, org: Any = None) -> Endpoint:
    """An endpoint of `org`; another organisation's answers exactly as a missing one."""
    _admin(by)
    endpoint = Endpoint.objects.for_org(tenancy.resolve(org)).filter(id=endpoint_id).first()
    if endpoint is None:
        raise NotFound(_("No such webhook endpoint."))
    return endpoint


@transaction.atomic
def set_enabled(*, by: Any, endpoint_id: int, enabled: bool, org: Any = None) -> Endpoint:
    endpoint = get_endpoint(by=by, endpoint_id=endpoint_id, org=org)
    endpoint.enabled = enabled
    who = by.get_username() if by is not None else _("the command line")
    endpoint.disabled_reason = "" if enabled else _("Disabled by %(name)s.") % {"name": who}
    endpoint.failing_since = None
    endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since"])
    transaction.on_commit(event_log.forget)
    event_log.forget()
    audit.record(
        Action.SETTINGS, endpoint, actor=by, after={"webhook_enabled": enabled}, label=endpoint.url
    )
    return endpoint


@transaction.atomic
def delete_endpoint(*, by: Any, endpoint_id: int, org: Any = None) -> None:
    endpoint = get_endpoint(by=by, endpoint_id=endpoint_id, org=org)
    audit.record(
        Action.SETTINGS, endpoint, actor=by, before={"webhook": endpoint.url}, label=endpoint.url
    )
    # Locked first: a try being recorded (delivery.record locks it too) finishes before the
    # rows are collected, or finds the endpoint gone; never an attempt left pointing nowhere.
    Endpoint.objects.for_org(endpoint.organisation_id).select_for_update().get(
        id=endpoint_id
    ).delete()
    transaction.on_commit(event_log.forget)
    event_log.forget()


def deliveries(endpoint: Endpoint, limit: int = 50) -> list[Delivery]:
    """The endpoint's latest deliveries with their tries, newest first."""
    rows = list(
        Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")[:limit]
    )
    tries: dict[int, list[Attempt]] = {}
    for attempt in Attempt.objects.filter(delivery__in=rows).order_by("-at", "-id"):
        tries.setdefault(attempt.delivery_id, []).append(attempt)
    for row in rows:
        row.tries_shown = tries.get(row.id, [])  # type: ignore[attr-defined]
    return rows


@transaction.atomic
def send_again(*, by: Any, endpoint_id: int, delivery_id: int, org: Any = None) -> Delivery:
    """Put a delivery back in the queue, due now (its earlier tries stay listed)."""
    endpoint = get_endpoint(by=by, endpoint_id=endpoint_id, org=org)
    delivery = Delivery.objects.filter(id=delivery_id, endpoint=endpoint).first()
    if delivery is None:
        raise NotFound(_("No such delivery."))
    now = timezone.now()
    delivery.state = Delivery.State.PENDING
    delivery.next_attempt_at = now
    delivery.created_at = now  # its 24 hours of retries start again
    delivery.locked_until = None
    delivery.save(update_fields=["state", "next_attempt_at", "created_at", "locked_until"])
    return delivery
