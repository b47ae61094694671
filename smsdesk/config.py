"""Reading SMSDESK_* environment variables.

Strict on purpose: a typo in a boolean or a number stops the start with a message naming the
variable, instead of silently running with a default the administrator did not choose.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import secrets
import stat
import zoneinfo
from pathlib import Path
from typing import IO, Any

import dj_database_url
import phonenumbers

from smsdesk.sms import keywords, sending_window
from smsdesk.sms.sending_window import Window


class ConfigError(RuntimeError):
    """A setting in the environment is malformed: every command says it in one line and
    exits 2 (smsdesk/cli.py), before anything runs."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_secret(name: str, default: str = "") -> str:
    """Value of NAME, or the content of the file named by NAME_FILE (for container secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{name}_FILE: cannot read {path!r}: {_reason(e)}") from None
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Names separated by spaces or commas (host names, origins: neither holds either)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.replace(",", " ").split() if item.strip()]


def env_words(name: str, default: list[str]) -> list[str]:
    """Items separated by spaces only: an item may hold commas (a gateway entry's options,
    `fail_permanent=+33600000001,+33600000002`, the README's example)."""
    raw = os.environ.get(name)
    return raw.split() if raw and raw.strip() else default


def env_log_level(name: str, default: str) -> str:
    value = env_str(name, default).strip().upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return value


def env_time_zone(name: str, default: str) -> str:
    value = env_str(name, default).strip()
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ConfigError(f"{name}: {value!r} is not a time zone (e.g. Europe/Paris)") from None
    return value


def env_region(name: str, default: str) -> str:
    value = env_str(name, default).strip().upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"{name}: {value!r} is not a two-letter country code (e.g. FR)")
    return value


def env_keywords(name: str, default: list[str]) -> list[str]:
    words = env_phrases(name, default)
    if not keywords.keyword_set(words):
        raise ConfigError(f"{name} lists no word (comma separated, e.g. {', '.join(default)})")
    return words


def env_database_url(name: str, default: str) -> dj_database_url.DBConfig:
    url = env_str(name, default)
    try:
        return dj_database_url.parse(url, conn_max_age=600)
    except ValueError as e:
        raise ConfigError(f"{name}: {e}") from None


LOG_LEVELS = [logging.getLevelName(n) for n in (10, 20, 30, 40, 50)]


def env_phrases(name: str, default: list[str]) -> list[str]:
    """A comma-separated list whose items may hold spaces ("stop, stop sms, arrêt")."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def env_networks(name: str, default: list[str]) -> list[IPNetwork]:
    """Addresses or networks (`10.0.0.5 192.168.1.0/24 ::1`), for the proxies and scrapers
    we believe."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network") from None
    return networks


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def load_env_file(path: str | None = None) -> Path | None:
    """Read the environment file named by SMSDESK_ENV_FILE (the install's
    /etc/smsdesk/smsdesk.env), the one systemd's EnvironmentFile= gives the services, so that
    a command typed by an administrator sees the same settings. A variable already in the
    environment wins: systemd has set it from the same file, or someone set it on purpose.

    The syntax is the part of systemd's that the install writes and the README shows: one
    `NAME=value` a line, `#` or `;` comments, optional single or double quotes around the
    value (no `$` expansion, as in systemd)."""
    path = path if path is not None else os.environ.get("SMSDESK_ENV_FILE", "")
    if not path:
        return None
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(
            f"SMSDESK_ENV_FILE: cannot read {file} ({e.strerror}); run the command as the "
            "smsdesk user (sudo -u smsdesk ...), or as root"
        ) from None
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.replace("_", "").isalnum() or name[0].isdigit():
            raise ConfigError(f"{file}, line {number}: expected NAME=value")
        value = value.strip()
        quote = value[:1]
        if len(value) >= 2 and quote in ("'", '"') and value[-1] == quote:
            value = value[1:-1]
            if quote == '"':  # systemd reads \" and \\ inside double quotes
                value = value.replace('\\"', '"').replace("\\\\", "\\")
        os.environ.setdefault(name, value)
    return file


def env_window(prefix: str) -> Window:
    """The commercial sending window: PREFIX_DAYS ("mon-sat"), PREFIX_HOURS ("08:00-20:00"),
    PREFIX_SKIP_HOLIDAYS (true) and PREFIX_TIME_ZONE ("Europe/Paris")."""
    try:
        start, end = sending_window.parse_hours(env_str(f"{prefix}_HOURS", "08:00-20:00"))
        zoneinfo.ZoneInfo(env_str(f"{prefix}_TIME_ZONE", "Europe/Paris"))
        return Window(
            days=sending_window.parse_days(env_str(f"{prefix}_DAYS", "mon-sat")),
            start=start,
            end=end,
            skip_holidays=env_bool(f"{prefix}_SKIP_HOLIDAYS", True),
        )
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as e:
        raise ConfigError(f"{prefix}_*: {e}") from None


# The data directory holds the database (every SMS, password hashes, session keys) and the
# secret key: no other local user may read them.
DIR_MODE = 0o700
FILE_MODE = 0o600


def data_dir() -> Path:
    path = Path(env_str("SMSDESK_DATA_DIR", str(Path.home() / ".local/share/smsdesk")))
    try:
        return private_dir(path)
    except OSError as e:
        raise ConfigError(f"SMSDESK_DATA_DIR: cannot create {str(path)!r}: {_reason(e)}") from None


def private_dir(path: Path) -> Path:
    """`path`, a folder only its owner may enter (0700): created so, or tightened."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    make_private(path, DIR_MODE)
    return path


_OPEN_FLAGS = {"w": os.O_TRUNC, "a": os.O_APPEND, "x": os.O_EXCL}


def private_file(path: str | Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open `path` for writing as a file only its owner may read (0600), whatever the umask:
    created 0600, and an existing file's rights taken back to 0600 before anything is
    written. `mode`: "w" (replace), "a" (append) or "x" (a new file only, else
    FileExistsError), with "b" for bytes; `kwargs` go to open() (encoding, buffering...).
    Every file smsdesk writes that holds numbers, texts or secrets is opened here."""
    flags = os.O_WRONLY | os.O_CREAT | _OPEN_FLAGS[mode[0]]
    fd = os.open(path, flags, FILE_MODE)
    try:
        status = os.fstat(fd)
        # Only a regular file: --output /dev/stdout must not change the terminal's mode.
        if stat.S_ISREG(status.st_mode) and status.st_mode & ~FILE_MODE & 0o777:
            with contextlib.suppress(PermissionError):  # not ours: the owner chose
                os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e)


def make_private(path: Path, mode: int) -> None:
    """Take away the group's and others' rights on `path` if it has any (fixed at each start)."""
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if current & ~mode:
        # not ours (a shared, read-only mount): keep on, the start must not fail for this
        with contextlib.suppress(PermissionError):
            path.chmod(current & mode)


def private_sqlite_file(name: str | Path) -> None:
    """Create the SQLite database file 0600 before SQLite does (it would follow the umask,
    often 0644, and give its -wal and -shm files the same mode), or tighten an existing one
    and its -wal and -shm."""
    path = Path(name)
    if str(name) == ":memory:" or str(name).startswith("file:"):
        return
    if not path.exists() and path.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            private_file(path, "x").close()
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        make_private(file, FILE_MODE)


def secret_key(directory: Path) -> str:
    """SMSDESK_SECRET_KEY, or a key generated once and kept in the data directory."""
    key = env_secret("SMSDESK_SECRET_KEY")
    if key:
        return key
    key_file = directory / "secret_key"
    try:
        if not key_file.exists():
            # "x": two processes starting together must not write two different keys.
            with (
                contextlib.suppress(FileExistsError),
                private_file(key_file, "x", encoding="utf-8") as f,
            ):
                f.write(secrets.token_urlsafe(50))
        make_private(key_file, FILE_MODE)
        return key_file.read_text(encoding="utf-8").strip()
    except OSError as e:
        why = _reason(e)
        raise ConfigError(f"SMSDESK_DATA_DIR: cannot keep {str(key_file)!r}: {why}") from None
