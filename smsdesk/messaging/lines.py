"""Which organisation each line (a gateway of SMSDESK_GATEWAYS) belongs to.

A line belongs to the organisation named by `org=slug` in its entry of SMSDESK_GATEWAYS; else
to the one the platform administrator assigned it to (`accounts.LineAssignment`: the platform
page, `smsdesk org assign-line`); else to the installation's first organisation ("default",
the one an upgrade put everything in): a single-customer installation never names one.

What comes in on a line (an SMS, a report, a call, a STOP) is stored in the line's
organisation; an organisation's messages only ever leave through its own lines (the
services choose the gateway among `lines_of(org)` and refuse any other).
"""

from __future__ import annotations

import time
from typing import Any

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


def owners() -> dict[str, int]:
    """Every configured line's organisation id, by line name (one query each table), read
    once per web request (core/memo.py: every page asks, the home page twice); a save of an
    organisation or a line assignment forgets it."""
    return dict(memo.kept(OWNERS_KEY, _read_owners))


def _forget_owners(**_kwargs: Any) -> None:
    memo.forget(OWNERS_KEY)


for _model in (LineAssignment, Organisation):
    for _signal in (post_save, post_delete):
        _signal.connect(_forget_owners, sender=_model, dispatch_uid=f"lines-owners-{_model}")


def _read_owners() -> dict[str, int]:
    """One statement (every API send asks, issue 19): the organisations the configuration
    names by slug, "default" and the first one (the fallback), and the assignments of the
    configured lines."""
    specs = gateway_state.configured()
    slugs = sorted({s.org for s in specs if s.org} | {"default"})
    names = [s.name for s in specs]
    orgs, assignments = Organisation._meta.db_table, LineAssignment._meta.db_table
    slug_marks, name_marks = ", ".join(["%s"] * len(slugs)), ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 0, slug, id FROM {orgs} WHERE slug IN ({slug_marks}) "  # noqa: S608
            f"OR id = (SELECT MIN(id) FROM {orgs}) "
            f"UNION ALL SELECT 1, line, organisation_id FROM {assignments} "
            f"WHERE line IN ({name_marks or 'NULL'})",
            [*slugs, *names],
        )
        rows = cursor.fetchall()
    by_slug = {slug: pk for kind, slug, pk in rows if kind == 0}
    assigned = {line: pk for kind, line, pk in rows if kind == 1}
    fallback: int | None = by_slug.get("default") or min(by_slug.values(), default=None)
    result: dict[str, int] = {}
    for spec in specs:
        if spec.org and spec.org in by_slug:
            result[spec.name] = by_slug[spec.org]
        elif spec.name in assigned:
            result[spec.name] = assigned[spec.name]
        else:
            if fallback is None:  # no organisation yet: _first_organisation makes it
                fallback = _first_organisation().pk
            result[spec.name] = fallback
    return result


def organisation_of_line(name: str) -> Organisation:
    """The organisation a line belongs to (an unknown line name: the first organisation)."""
    org_id = owners().get(name)
    if org_id is None:
        return _first_organisation()
    return Organisation.objects.get(pk=org_id)


def lines_of(org: Any) -> list[str]:
    """The names of `org`'s lines, in SMSDESK_GATEWAYS order (the first sends by default)."""
    org_id = org if isinstance(org, int) else org.pk
    return [name for name, owner in owners().items() if owner == org_id]


HELD_FOR = 2.0  # seconds a worker trusts its answer (it asks before each claim)
_held: tuple[float, frozenset[str]] = (0.0, frozenset())


def held_lines() -> frozenset[str]:
    """The lines of suspended organisations: nothing is claimed on them (their messages stay
    queued or scheduled, neither sent nor failed) until the organisation is resumed."""
    global _held
    now = time.monotonic()
    if now - _held[0] < HELD_FOR:
        return _held[1]
    suspended = set(Organisation.objects.filter(is_active=False).values_list("id", flat=True))
    found = (
        frozenset(n for n, o in owners().items() if o in suspended) if suspended else frozenset()
    )
    _held = (now, found)
    return found


def forget_held() -> None:
    """After a suspension or a resumption (and in tests): ask again at the next claim."""
    global _held
    _held = (0.0, frozenset())


def configured_org_slug(name: str) -> str:
    """The `org=` of a line's entry ("" when the entry names none)."""
    for spec in gateway_state.configured():
        if spec.name == name:
            return spec.org
    return ""
