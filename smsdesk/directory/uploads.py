"""An uploaded import file kept between the preview and the confirmation.

The file waits in the data directory (`imports/`, owner-only) under a random id, with the
id of the user who sent it; only that user can confirm it, for a day at most. Nothing goes
into the session cookie, and the preview the user saw is computed again from the same bytes.

Each user may keep at most SMSDESK_UPLOADS_PER_USER files and SMSDESK_UPLOADS_MAX_BYTES
waiting: without a bound, one operator could fill the disk (five 17 MB files a minute, kept
a day) and stop every write of everyone. A file is discarded once imported or sent, when
its import is cancelled, and when New SMS gets another file in its place.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.config import private_dir, private_file
from smsdesk.directory import errors

MAX_AGE = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,40}")


def _folder() -> Path:
    return private_dir(Path(settings.DATA_DIR) / "imports")


def save(data: bytes, *, user_id: int, filename: str, replacing: str = "") -> str:
    """Keep `data` for `user_id`, in place of their file `replacing` (a token) if given; or
    UploadsFull when the user's files waiting would pass a bound."""
    _forget_old()
    if replacing:
        discard(replacing, user_id=user_id)
    _check_room(user_id, len(data))
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


def discard(token: str, *, user_id: int | None = None) -> None:
    """Remove the file `token` (only if it is `user_id`'s, when given)."""
    if not _TOKEN.fullmatch(token or ""):
        return
    if user_id is not None and _owner(_folder() / f"{token}.json") != user_id:
        return
    for suffix in (".csv", ".json"):
        (_folder() / f"{token}{suffix}").unlink(missing_ok=True)


def _owner(meta: Path) -> int | None:
    try:
        return json.loads(meta.read_text()).get("user")
    except (OSError, ValueError, AttributeError):
        return None


def waiting(user_id: int) -> tuple[int, int]:
    """How many files `user_id` has waiting, and their size in bytes."""
    count = size = 0
    for meta in _folder().glob("*.json"):
        if _owner(meta) == user_id:
            try:
                size += meta.with_suffix(".csv").stat().st_size
            except OSError:
                continue
            count += 1
    return count, size


def _check_room(user_id: int, size: int) -> None:
    count, used = waiting(user_id)
    most_files, most_bytes = settings.SMSDESK_UPLOADS_PER_USER, settings.SMSDESK_UPLOADS_MAX_BYTES
    if count < most_files and used + size <= most_bytes:
        return
    raise errors.UploadsFull(
        " ".join(
            (
                ngettext(
                    "You already have %(count)d file waiting on the server (%(used)s).",
                    "You already have %(count)d files waiting on the server (%(used)s).",
                    count,
                )
                % {"count": count, "used": filesizeformat(used)},
                ngettext(
                    "Each user may keep at most %(files)d file and %(bytes)s.",
                    "Each user may keep at most %(files)d files and %(bytes)s.",
                    most_files,
                )
                % {"files": most_files, "bytes": filesizeformat(most_bytes)},
                _("Finish or cancel the imports you started, or wait: a file waits a day at most."),
            )
        )
    )


def _forget_old() -> None:
    limit = time.time() - MAX_AGE
    for path in _folder().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass
