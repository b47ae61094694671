"""Resource faults: the disk is full, the database is locked or cannot be reached.

Not a bug of the request: it was refused whole (its transaction rolled back, what was saved
before is still there) and will work again once the resource is back. Each entry point says
so plainly, in one place each:

- the web and the API: `server_error`, Django's handler500 (it sees every exception, from a
  view, a middleware or the session's save), answers 503 with `Retry-After` and the error
  page in the layout, or the API's JSON error shape under /api/;
- the command line: `smsdesk.cli.main`, one line on stderr and exit 1.

Which exceptions are such faults (`classify`): SQLite's "database or disk is full",
"database is locked", "unable to open database file", "disk I/O error"; any
OperationalError of PostgreSQL (connection refused or lost, a backend terminated, a lock or
statement timeout, sqlstate class 53: disk full, out of memory, too many connections),
Django's InterfaceError (connection closed), and OSError ENOSPC/EDQUOT (writing a file).
An OperationalError of SQLite with another message ("no such table") is a bug, not a fault.
"""

from __future__ import annotations

import enum
import errno
import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

from smsdesk.core.middleware import is_api

log = logging.getLogger("smsdesk.faults")

RETRY_AFTER = 60  # seconds: what the page says ("try again in a minute")


class Fault(enum.Enum):
    DISK_FULL = "disk_full"
    DATABASE_BUSY = "database_busy"
    DATABASE_UNAVAILABLE = "database_unavailable"


_SQLITE = {
    "database or disk is full": Fault.DISK_FULL,
    "database is locked": Fault.DATABASE_BUSY,
    "database table is locked": Fault.DATABASE_BUSY,
    "unable to open database file": Fault.DATABASE_UNAVAILABLE,
    "disk i/o error": Fault.DATABASE_UNAVAILABLE,
}
# PostgreSQL sqlstates (psycopg): lock_timeout, statement_timeout, deadlock, serialisation.
_PG_BUSY = {"55P03", "57014", "40P01", "40001"}


def classify(exc: BaseException | None) -> Fault | None:
    """The resource fault `exc` (or an exception it was raised from) is, or None."""
    seen = 0
    while exc is not None and seen < 5:
        fault = _classify_one(exc)
        if fault is not None:
            return fault
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _classify_one(exc: BaseException) -> Fault | None:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Fault.DISK_FULL
    if isinstance(exc, InterfaceError):
        return Fault.DATABASE_UNAVAILABLE
    module = type(exc).__module__
    if module.startswith("psycopg") and _is_a(exc, "OperationalError"):
        sqlstate = getattr(exc, "sqlstate", None) or ""
        if sqlstate == "53100":
            return Fault.DISK_FULL
        return Fault.DATABASE_BUSY if sqlstate in _PG_BUSY else Fault.DATABASE_UNAVAILABLE
    if module == "sqlite3" or isinstance(exc, OperationalError):
        text = str(exc).lower()
        for start, fault in _SQLITE.items():
            if text.startswith(start):
                return fault
    return None


def _is_a(exc: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def message() -> str:
    return _("The server cannot save right now; nothing was lost. Try again in a minute.")


def reason(fault: Fault) -> str:
    return {
        Fault.DISK_FULL: _("The server's disk is full: tell your administrator."),
        Fault.DATABASE_BUSY: _("The database is busy with other work."),
        Fault.DATABASE_UNAVAILABLE: _("The database cannot be reached."),
    }[fault]


def one_line(fault: Fault, exc: BaseException) -> str:
    """What the command line prints: the sentence, why, and the database's own words."""
    words = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return f"{message()} {reason(fault)} ({words})"


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a resource fault is a 503 said plainly; anything else Django's 500 page
    (or the API's JSON error). Renders without the request's context: the context
    processors would ask the database that just failed."""
    exc = sys.exc_info()[1]
    fault = classify(exc)
    if fault is None:
        if is_api(request):
            body = {"code": "server_error", "field": None, "message": _("Server error.")}
            return JsonResponse(body, status=500)
        return defaults.server_error(request)
    log.warning("%s: %s %s (%s)", fault.value, request.method, request.path, exc)
    if is_api(request):
        response: HttpResponse = JsonResponse(
            {
                "code": fault.value,
                "field": None,
                "message": message(),
                "detail": [{"reason": reason(fault)}],
            },
            status=503,
        )
    else:
        context = {
            "error_title": _("Try again in a minute"),
            "error_text": message(),
            "error_detail": reason(fault),
        }
        page = loader.get_template("core/error.html").render(context)
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response
