from django.conf import settings
from django.http import HttpRequest

from smsdesk.accounts import services, visits
from smsdesk.core import memo


def login_rules(request: HttpRequest) -> dict:
    """The lockout rule, said on the login form and on the locked-out page."""
    return {
        "login_failure_limit": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": services.lockout_minutes(),
    }


def visit_banner(request: HttpRequest) -> dict:
    """A platform administrator inside an organisation: the banner they see (with "Leave"),
    and the one that organisation's administrators see while the visit lasts."""
    org = getattr(request, "organisation", None)
    if org is None:
        return {}
    if getattr(request, "visiting", False):
        return {"visiting_org": org}
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_admin", False):
        return {}
    if not getattr(org, "open_visit", True):  # the middleware's flag: no visit, no query
        return {}
    ongoing = memo.kept(f"visits.ongoing:{org.pk}", lambda: visits.ongoing_visits(org))
    return {"visited_by": ongoing} if ongoing else {}
