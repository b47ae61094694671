"""Which organisation each line (a gateway of SMSDESK_GATEWAYS) belongs to.

A line belongs to the organisation named by `org=slug` in its entry of SMSDESK_GATEWAYS; else
to the one the platform administrator assigned it to (`accounts.LineAssignment`: the platform
page, `smsdesk org assign-line`); else to the installation's first organisation ("default",
the one an upgrade put everything in): a single-customer installation never names one.

What comes in on a line (an SMS, a report, a call, a STOP) is stored in the line's
organisation; an organisation's messages only ever leave through its own lines (the
services choose the gateway among `lines_of(org)` and refuse any other).

A line may be shared by several organisations, each with its own sender names or numbers
(`org=a,b&sender.a=CABINET&sender.b=GARAGE` in SMSDESK_GATEWAYS, or several assignments of
one line, each with its sender: `smsdesk org assign-line SLUG LINE --share --sender NAME`).
It is then a line of each of them (`lines_of`); `owners()` gives its first organisation.
Each organisation's messages leave with its first sender (`with_senders`, the worker, just
after the claim); an SMS that comes in is stored in the organisation whose sender it was
addressed to (the transport's destination address), else in the one that last wrote to
that correspondent on that line, else in the first (`organisation_of_inbound`). A line of a
kind with one number (a modem, an Android phone) cannot be shared (gateways/registry.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save

from smsdesk.accounts.models import LineAssignment, Organisation
from smsdesk.core import memo
from smsdesk.messaging import gateway_state


def _first_organisation() -> Organisation:
    default = Organisation.objects.filter(slug="default").first()
    if default is not None:
        return default
    first = Organisation.objects.order_by("id").first()
    if first is not None:
        return first
    from smsdesk.core.tenancy import sole_organisation

    return sole_organisation()


OWNERS_KEY = "lines.owners"
Sharers = tuple[tuple[int, tuple[str, ...]], ...]  # (organisation id, its senders) each


def owners() -> dict[str, int]:
    """Every configured line's organisation id, by line name (one statement), read
    once per web request (core/memo.py: every page asks, the home page twice); a save of an
    organisation or a line assignment forgets it. A shared line: its first organisation."""
    return dict(memo.kept(OWNERS_KEY, _read)[0])


def shared() -> dict[str, Sharers]:
    """The lines shared by several organisations: each one's organisations with their
    sender names or numbers, the first organisation first (read with `owners()`, in the
    same statement)."""
    return dict(memo.kept(OWNERS_KEY, _read)[1])


_worker_shared: tuple[float, tuple[str, ...], dict[str, Sharers]] = (0.0, (), {})


def _shared_for_worker() -> dict[str, Sharers]:
    """`shared()` for the worker's claim (no web request keeps it): trusted for HELD_FOR
    seconds, so that a line's batch costs no query to learn it is not shared."""
    global _worker_shared
    now = time.monotonic()
    entries = tuple(str(e) for e in settings.SMSDESK_GATEWAYS)
    if now - _worker_shared[0] < HELD_FOR and _worker_shared[1] == entries:
        return _worker_shared[2]
    found = shared()
    _worker_shared = (now, entries, found)
    return found


def _forget_owners(**_kwargs: Any) -> None:
    global _worker_shared
    memo.forget(OWNERS_KEY)
    _worker_shared = (0.0, (), {})


for _model in (LineAssignment, Organisation):
    for _signal in (post_save, post_delete):
        _signal.connect(_forget_owners, sender=_model, dispatch_uid=f"lines-owners-{_model}")


def _read() -> tuple[dict[str, int], dict[str, Sharers]]:
    """(each line's organisation, the shared lines): the configuration's `org=` (one, or
    several with `sender.SLUG=`), else the platform's assignments (several rows of one line:
    shared), else the first organisation. An organisation the configuration names that
    does not exist (yet) is left out of a shared line.

    One statement (every API send asks, issue 19): the organisations the configuration
    names by slug, "default" and the first one (the fallback), and the assignments of the
    configured lines in the order they were made."""
    specs = gateway_state.configured()
    named = {slug for spec in specs for slug, _names in spec.shared} | {
        spec.org for spec in specs if spec.org
    }
    slugs = sorted(named | {"default"})
    lines = [spec.name for spec in specs]
    orgs, assignments = Organisation._meta.db_table, LineAssignment._meta.db_table
    slug_marks, line_marks = ", ".join(["%s"] * len(slugs)), ", ".join(["%s"] * len(lines))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 0, slug, id, '', 0 FROM {orgs} WHERE slug IN ({slug_marks}) "  # noqa: S608
            f"OR id = (SELECT MIN(id) FROM {orgs}) "
            f"UNION ALL SELECT 1, line, organisation_id, sender, id FROM {assignments} "
            f"WHERE line IN ({line_marks or 'NULL'})",
            [*slugs, *lines],
        )
        found = cursor.fetchall()
    by_slug = {slug: pk for kind, slug, pk, _sender, _order in found if kind == 0}
    rows: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for _kind, line, org_id, sender, _order in sorted(
        (row for row in found if row[0] == 1), key=lambda row: row[4]
    ):
        names = tuple(n.strip() for n in sender.split(",") if n.strip())
        rows.setdefault(line, []).append((org_id, names))
    fallback: int | None = by_slug.get("default") or min(by_slug.values(), default=None)
    result: dict[str, int] = {}
    sharing: dict[str, Sharers] = {}
    for spec in specs:
        if spec.org and spec.org in by_slug:
            result[spec.name] = by_slug[spec.org]
            orgs_of_line = tuple(
                (by_slug[slug], names) for slug, names in spec.shared if slug in by_slug
            )
            if len(orgs_of_line) > 1:
                sharing[spec.name] = orgs_of_line
        elif spec.name in rows:
            result[spec.name] = rows[spec.name][0][0]
            if not spec.org and len(rows[spec.name]) > 1:
                sharing[spec.name] = tuple(rows[spec.name])
        else:
            if fallback is None:  # no organisation yet: _first_organisation makes it
                fallback = _first_organisation().pk
            result[spec.name] = fallback
    return result, sharing


def sharers(line: str) -> Sharers:
    """The organisations sharing `line` with their senders (empty: not shared)."""
    return shared().get(line, ())


def sender_for(line: str, org: Any) -> str:
    """The sender name or number `org`'s messages leave `line` with ("": the line's own)."""
    org_id = org if isinstance(org, int) else org.pk
    for sharer, names in sharers(line):
        if sharer == org_id and names:
            return names[0]
    return ""


def with_senders(line: str, claimed: Sequence[Any]) -> list[Any]:
    """The claimed messages of `line` (lifecycle.Claimed), each with its organisation's
    sender when the line is shared (one query then; none for a line of one organisation)."""
    sharing = _shared_for_worker().get(line, ())
    if not sharing or not claimed:
        return list(claimed)
    from smsdesk.messaging.models import Message

    ids = [c.sms.id for c in claimed]
    # across organisations: the worker's claim of one line, which these organisations share
    org_of = dict(
        Message.objects.across_orgs().filter(id__in=ids).values_list("id", "organisation_id")
    )
    first = {org_id: names[0] for org_id, names in sharing if names}
    return [
        dataclasses.replace(c, sms=dataclasses.replace(c.sms, sender=sender))
        if (sender := first.get(org_of.get(c.sms.id, 0), ""))
        else c
        for c in claimed
    ]


def organisation_of_inbound(line: str, *, destination: str = "", peer: str = "") -> Organisation:
    """The organisation an SMS that came in on `line` belongs to: the line's, or on a shared
    line the one whose sender it was addressed to; when the transport does not say (or says
    an address nobody has), the one that last wrote to `peer` on that line; else the line's
    first organisation."""
    sharing = sharers(line)
    if not sharing:
        return organisation_of_line(line)
    from smsdesk.gateways.registry import norm_sender

    wanted = norm_sender(destination)
    if wanted:
        for org_id, names in sharing:
            if any(norm_sender(n) == wanted for n in names):
                return Organisation.objects.get(pk=org_id)
    if peer:
        from smsdesk.messaging.models import Message

        # across the organisations sharing the line only (the (peer, created_at) index)
        last = (
            Message.objects.across_orgs()
            .filter(
                organisation_id__in=[org_id for org_id, _n in sharing],
                peer=peer,
                direction=Message.Direction.OUTBOUND,
                gateway_id=line,
            )
            .order_by("-created_at", "-id")
            .values_list("organisation_id", flat=True)
            .first()
        )
        if last is not None:
            return Organisation.objects.get(pk=last)
    return Organisation.objects.get(pk=sharing[0][0])


def organisation_of_line(name: str) -> Organisation:
    """The organisation a line belongs to (an unknown line name: the first organisation)."""
    org_id = owners().get(name)
    if org_id is None:
        return _first_organisation()
    return Organisation.objects.get(pk=org_id)


def lines_of(org: Any) -> list[str]:
    """The names of `org`'s lines, in SMSDESK_GATEWAYS order (the first sends by default)."""
    org_id = org if isinstance(org, int) else org.pk
    sharing = shared()
    return [
        name
        for name, owner in owners().items()
        if owner == org_id or any(sharer == org_id for sharer, _n in sharing.get(name, ()))
    ]


HELD_FOR = 2.0  # seconds a worker trusts its answer (it asks before each claim)
_held: tuple[float, frozenset[str], frozenset[int]] = (0.0, frozenset(), frozenset())


def _suspended() -> tuple[frozenset[str], frozenset[int]]:
    """(the held lines, the suspended organisations), read at most every HELD_FOR seconds."""
    global _held
    now = time.monotonic()
    if now - _held[0] < HELD_FOR:
        return _held[1], _held[2]
    suspended = frozenset(Organisation.objects.filter(is_active=False).values_list("id", flat=True))
    # a shared line is held while every organisation sharing it is suspended
    sharing = shared() if suspended else {}
    found = (
        frozenset(
            n
            for n, o in owners().items()
            if all(s in suspended for s, _n in sharing.get(n, ((o, ()),)))
        )
        if suspended
        else frozenset()
    )
    _held = (now, found, suspended)
    return found, suspended


def held_lines() -> frozenset[str]:
    """The lines of suspended organisations: nothing is claimed on them (their messages stay
    queued or scheduled, neither sent nor failed) until the organisation is resumed."""
    return _suspended()[0]


def held_organisations(line: str) -> list[int]:
    """On a shared line that still sends: its suspended organisations, whose messages are not
    claimed (they wait, as on a line of their own) until they are resumed."""
    suspended = _suspended()[1]
    if not suspended:
        return []
    return [org_id for org_id, _n in _shared_for_worker().get(line, ()) if org_id in suspended]


def forget_held() -> None:
    """After a suspension or a resumption (and in tests): ask again at the next claim."""
    global _held, _worker_shared
    _held = (0.0, frozenset(), frozenset())
    _worker_shared = (0.0, (), {})


def configured_org_slug(name: str) -> str:
    """The `org=` of a line's entry ("" when the entry names none)."""
    for spec in gateway_state.configured():
        if spec.name == name:
            return spec.org
    return ""
