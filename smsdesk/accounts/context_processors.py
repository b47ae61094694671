from django.conf import settings
from django.http import HttpRequest

from smsdesk.accounts import services


def login_rules(request: HttpRequest) -> dict:
    """The lockout rule, said on the login form and on the locked-out page."""
    return {
        "login_failure_limit": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": services.lockout_minutes(),
    }
