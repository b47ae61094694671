"""Writing and reading the audit log: one helper, `record`, called by the services.

Who and from where come from the context of the request or command (`bind`, set by
`AuditContextMiddleware` for pages, by the API's token check, by `smsdesk` commands); a
service passes `actor=` only when it knows better (a login: the user who just logged in).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from smsdesk.audit.context import bind, bound, current
from smsdesk.audit.models import Action, Entry, Unlock
from smsdesk.core.bulk import insert_one

__all__ = ["bind", "bound", "current", "entries", "purge", "record"]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def record(
    action: Action | str,
    target: Any = None,
    *,
    before: Any = None,
    after: Any = None,
    actor: Any = None,
    ip: str | None = None,
    label: str = "",
    org: Any = None,
) -> Entry:
    """One entry, in the caller's transaction (a rollback takes it back with the change)."""
    ctx = current()
    who = actor if actor is not None else ctx.actor
    if target is None:
        target_type, target_id = "", ""
    elif isinstance(target, tuple):
        target_type, target_id = str(target[0]), str(target[1])
    else:
        target_type = (
            getattr(getattr(target, "_meta", None), "model_name", "")
            or type(target).__name__.lower()
        )
        target_id = str(getattr(target, "pk", "") or "")
        label = label or str(target)
    if org is None:
        org = getattr(who, "organisation_id", None) or getattr(target, "organisation_id", None)
    entry = Entry(
        at=timezone.now(),
        organisation_id=getattr(org, "pk", org),
        actor_id=getattr(who, "pk", None),
        actor_name=(who.get_username() if hasattr(who, "get_username") else "")[:150],
        via=ctx.via,
        token=ctx.token[:20],
        action=str(action),
        target_type=target_type[:32],
        target_id=target_id[:64],
        target=label[:200],
        before=_plain(before),
        after=_plain(after),
        ip=(ip if ip is not None else ctx.ip)[:45],
    )
    insert_one(entry)  # one plain INSERT (every API send writes one: issue 19)
    return entry


PLATFORM = object()  # `entries(org=PLATFORM)`: the platform's own acts (no organisation)


def entries(
    *,
    org: Any = None,
    since: datetime | None = None,
    actor: str = "",
    action: str = "",
    search: str = "",
) -> QuerySet[Entry]:
    """The entries of organisation `org`, of the platform's own acts (`PLATFORM`), or every
    entry (None: the command line on the server)."""
    qs = Entry.objects.all()
    if org is PLATFORM:
        qs = qs.filter(organisation_id__isnull=True)
    elif org is not None:
        qs = qs.filter(organisation_id=getattr(org, "pk", org))
    if since is not None:
        qs = qs.filter(at__gte=since)
    if actor:
        qs = qs.filter(actor_name=actor)
    if action:
        qs = qs.filter(action=action)
    if search:
        qs = qs.filter(target__icontains=search) | qs.filter(actor_name__icontains=search)
    return qs


def old_entries(
    *, before: datetime, org_id: int | None = None, platform: bool = False
) -> QuerySet[Entry]:
    """The entries older than `before`: organisation `org_id`'s, or the platform's own
    (`platform`: of no organisation), else every one."""
    old = Entry.objects.filter(at__lt=before)
    if platform:
        return old.filter(organisation_id__isnull=True)
    if org_id is not None:
        return old.filter(organisation_id=org_id)
    return old


def purge(
    *,
    before: datetime,
    limit: int | None = None,
    org_id: int | None = None,
    platform: bool = False,
) -> int:
    """Delete the entries older than `before` (at most `limit`, oldest first: data
    retention), of one organisation, of the platform, or all (`old_entries`): the only
    DELETE the triggers let through, for this transaction only."""
    old = old_entries(before=before, org_id=org_id, platform=platform)
    ids = list(old.order_by("id").values_list("id", flat=True)[:limit] if limit else [])
    if limit is not None and not ids:
        return 0
    with transaction.atomic():
        unlock = Unlock.objects.create()
        try:
            if limit is not None:
                old = Entry.objects.filter(id__in=ids)
            count = old.delete()[0]
        finally:
            Unlock.objects.filter(pk=unlock.pk).delete()
    return count
