"""A platform administrator inside an organisation's space (issue 16): each visit recorded
(who, when, from which address, until when) and shown to that organisation's administrators.
The middleware (accounts/middleware.py) makes a visit read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts.models import Organisation, OrganisationVisit
from smsdesk.core.errors import ServiceError


class VisitRefused(ServiceError):
    code = "visit_refused"


def enter(org: Organisation, *, by: Any, address: str | None) -> OrganisationVisit:
    """Record that platform administrator `by` enters `org`'s space (to look, to help)."""
    if not org.is_active:
        raise VisitRefused(
            _("%(slug)s is suspended: resume it before entering it.") % {"slug": org.slug}
        )
    return OrganisationVisit.objects.create(
        organisation=org,
        by=by,
        by_name=by.get_username()[:150],
        started_at=timezone.now(),
        address=address or None,
    )


def leave(visit_id: object) -> None:
    """Close a visit (its end time kept)."""
    if isinstance(visit_id, int):
        OrganisationVisit.objects.across_orgs().filter(  # by id: the visit's own organisation
            id=visit_id, ended_at=None
        ).update(ended_at=timezone.now())


def visits(org: Any, *, limit: int = 50) -> list[OrganisationVisit]:
    """`org`'s visits by the platform administrator, newest first (its Users page)."""
    return list(OrganisationVisit.objects.for_org(org)[:limit])


def _ongoing(org: Any) -> Any:
    since = timezone.now() - timedelta(hours=12)
    return OrganisationVisit.objects.for_org(org).filter(ended_at=None, started_at__gte=since)


def ongoing_visits(org: Any) -> list[OrganisationVisit]:
    """Visits of `org` not closed, begun within the last 12 hours (a session that ended
    without "Leave" is not shown for ever)."""
    return list(_ongoing(org))


def organisation_with_visit_flag(org_id: int) -> Organisation | None:
    """Organisation `org_id` with `open_visit` (whether `ongoing_visits` would find one),
    in the one query that loads it for each page: the visit banner then reads the visits
    only while one is under way (accounts/context_processors.py)."""
    return (
        Organisation.objects.filter(pk=org_id).annotate(open_visit=Exists(_ongoing(org_id))).first()
    )
