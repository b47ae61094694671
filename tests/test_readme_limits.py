"""The limits the README promises are the code's own: one setting each, read everywhere."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from smsdesk.api.endpoints import api

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def documented_default(name: str) -> int:
    row = re.search(rf"^\| `{name}` \| `(\d+)` \|", README, flags=re.M)
    assert row, f"{name} is not in the README's configuration table"
    return int(row.group(1))


def test_each_limit_in_the_readme_is_the_settings_default() -> None:
    for name in (
        "SMSDESK_MAX_SEGMENTS",
        "SMSDESK_MAX_RECIPIENTS",
        "SMSDESK_MAX_SCHEDULE_DAYS",
        "SMSDESK_MAX_REQUEST_BYTES",
        "SMSDESK_SESSION_HOURS",
        "SMSDESK_LOGIN_FAILURES",
        "SMSDESK_LOCKOUT_MINUTES",
    ):
        assert documented_default(name) == {
            "SMSDESK_MAX_REQUEST_BYTES": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            "SMSDESK_SESSION_HOURS": settings.SESSION_COOKIE_AGE // 3600,
            "SMSDESK_LOGIN_FAILURES": settings.AXES_FAILURE_LIMIT,
            "SMSDESK_LOCKOUT_MINUTES": settings.AXES_COOLOFF_TIME.total_seconds() // 60,
        }.get(name, getattr(settings, name, None)), name


def test_the_api_caps_recipients_with_the_same_setting() -> None:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    send_in = schema["components"]["schemas"]["SendIn"]["properties"]["to"]
    assert send_in["maxItems"] == settings.SMSDESK_MAX_RECIPIENTS == 100_000
    assert "at most `SMSDESK_MAX_RECIPIENTS` recipients per send (100,000)" in README
