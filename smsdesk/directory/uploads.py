"""An uploaded import file kept between the preview and the confirmation.

The file waits in the data directory (`imports/`, owner-only) under a random id, with the
id of the user who sent it; only that user can confirm it, for a day at most. Nothing goes
into the session cookie, and the preview the user saw is computed again from the same bytes.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from smsdesk.config import private_dir, private_file
from smsdesk.directory import errors

MAX_AGE = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,40}")


def _folder() -> Path:
    return private_dir(Path(settings.DATA_DIR) / "imports")


def save(data: bytes, *, user_id: int, filename: str) -> str:
    _forget_old()
    token = secrets.token_urlsafe(18)
    folder = _folder()
    for path, content in (
        (folder / f"{token}.csv", data),
        (folder / f"{token}.json", json.dumps({"user": user_id, "name": filename[:200]}).encode()),
    ):
        with private_file(path, "xb") as f:
            f.write(content)
    return token


def load(token: str, *, user_id: int) -> tuple[bytes, str]:
    """The file's bytes and name, if `token` is one of `user_id`'s pending imports."""
    expired = errors.ImportExpired(
        _(
            "This import is no longer available (already done, or older than a day). "
            "Upload the file again."
        )
    )
    if not _TOKEN.fullmatch(token or ""):
        raise expired
    folder = _folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.csv").read_bytes()
    except (OSError, ValueError):
        raise expired from None
    if meta.get("user") != user_id:
        raise expired
    return data, str(meta.get("name", ""))


def discard(token: str) -> None:
    if _TOKEN.fullmatch(token or ""):
        for suffix in (".csv", ".json"):
            (_folder() / f"{token}{suffix}").unlink(missing_ok=True)


def _forget_old() -> None:
    limit = time.time() - MAX_AGE
    for path in _folder().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass
