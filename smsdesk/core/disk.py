"""Free space on the data directory's disk, for the administrators' banner.

A full disk stops every write (SMS received or sent, contacts, imports: core/faults.py says
so when it happens); the banner says it before, while there is time to free some space.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

MB = 1024 * 1024


@dataclass(frozen=True)
class DiskSpace:
    free: int  # bytes
    limit: int  # bytes: SMSDESK_DISK_LOW_MB
    path: str


def low_space() -> DiskSpace | None:
    """The free space of the data directory's disk when under SMSDESK_DISK_LOW_MB, else None
    (also when the setting is 0, or the disk cannot be asked)."""
    limit = settings.SMSDESK_DISK_LOW_MB * MB
    if limit <= 0:
        return None
    try:
        free = shutil.disk_usage(settings.DATA_DIR).free
    except OSError:
        return None
    return DiskSpace(free, limit, str(settings.DATA_DIR)) if free < limit else None


def disk_space(request: HttpRequest) -> dict:
    """Context processor: the banner, for administrators only (one statvfs call a page)."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_admin", False):
        return {}
    return {"disk_low": low_space()}
