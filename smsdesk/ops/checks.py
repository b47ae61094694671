"""`smsdesk check`: is this installation ready to go live? One finding per line, in words.

Django's own checks, deployment ones included (`check --deploy`), then ours: the secret key,
the allowed hosts, HTTPS, the database and its version, the migrations, each gateway (its
configuration, and whether it can be reached without sending), the time zone, disk space,
the modes of the private files, the static files, a running worker. An error means "do not
go live like this" (the command exits 1); a warning is worth reading.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from django.conf import settings
from django.core import checks as django_checks
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk import mailer
from smsdesk.core import schema
from smsdesk.gateways import registry
from smsdesk.gateways.base import GatewayError
from smsdesk.mail import delivery as mail_delivery
from smsdesk.messaging import gateway_state
from smsdesk.worker.services import running_workers

MIN_SQLITE = (3, 35)  # RETURNING, used by the worker's claim
MIN_POSTGRESQL = 14  # what Django 5.2 supports
FREE_SPACE_ERROR = 200 * 1024 * 1024
FREE_SPACE_WARNING = 1024 * 1024 * 1024
# Django's warnings about HTTPS, said once by our own line while HTTPS is off.
HTTPS_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}


class Level(Enum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    text: str


def describe(finding: Finding) -> str:
    """One line: the level's word, the topic, what was found (in the user's language)."""
    words = {Level.OK: _("ok"), Level.WARNING: _("warning"), Level.ERROR: _("error")}
    width = max(len(w) for w in words.values())
    return f"{words[finding.level]:<{width}}  " + _("%(topic)s: %(text)s") % {
        "topic": finding.topic,
        "text": finding.text,
    }


def ok(topic: str, text: str) -> Finding:
    return Finding(Level.OK, topic, text)


def warning(topic: str, text: str) -> Finding:
    return Finding(Level.WARNING, topic, text)


def error(topic: str, text: str) -> Finding:
    return Finding(Level.ERROR, topic, text)


def https_on() -> bool:
    return bool(settings.SESSION_COOKIE_SECURE)


def check_django() -> Iterator[Finding]:
    topic = _("Django checks")
    problems = [
        m
        for m in django_checks.run_checks(include_deployment_checks=True)
        if not m.is_silenced()
        and m.level >= django_checks.WARNING
        and not (m.id in HTTPS_WARNINGS and not https_on())
    ]
    for m in problems:
        text = f"{m.id}: {m.msg}" + (f" ({m.hint})" if m.hint else "")
        yield (error if m.level >= django_checks.ERROR else warning)(topic, text)
    if not problems:
        yield ok(topic, _("no problem, deployment checks included"))


def check_secret_key() -> Iterator[Finding]:
    topic = _("secret key")
    key_file = Path(settings.DATA_DIR) / "secret_key"
    if os.environ.get("SMSDESK_SECRET_KEY_FILE"):
        where = os.environ["SMSDESK_SECRET_KEY_FILE"]
    elif os.environ.get("SMSDESK_SECRET_KEY"):
        where = "SMSDESK_SECRET_KEY"
    else:
        where = str(key_file)
    if len(settings.SECRET_KEY) < 50 or len(set(settings.SECRET_KEY)) < 5:
        yield error(topic, _("too short or too simple (%(where)s)") % {"where": where})
    else:
        yield ok(topic, _("set (%(where)s)") % {"where": where})


def check_allowed_hosts() -> Iterator[Finding]:
    topic = _("allowed hosts")
    hosts = settings.ALLOWED_HOSTS
    given = os.environ.get("SMSDESK_ALLOWED_HOSTS", "").strip()
    if https_on() and not given:
        yield error(
            topic,
            _(
                "HTTPS is on but SMSDESK_ALLOWED_HOSTS is not set: give the name the site "
                "is reached by (e.g. sms.example.org)"
            ),
        )
    elif "*" in hosts:
        yield (error if https_on() else warning)(
            topic, _("“*” accepts any Host header: name the site's hosts instead")
        )
    else:
        yield ok(topic, ", ".join(hosts))


def check_https() -> Iterator[Finding]:
    topic = "HTTPS"
    proxies = ", ".join(
        str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
        for n in settings.SMSDESK_TRUSTED_PROXIES
    )
    if not https_on():
        yield warning(
            topic,
            _(
                "off (SMSDESK_SECURE_COOKIES): fine on a closed network or for a try, not on "
                "the internet"
            ),
        )
        return
    if not settings.SMSDESK_TRUSTED_PROXIES:
        yield error(
            topic,
            _(
                "on, but SMSDESK_TRUSTED_PROXIES is empty: the proxy's X-Forwarded-Proto is "
                "never believed and every page redirects"
            ),
        )
        return
    yield ok(
        topic,
        _(
            "secure cookies, HSTS for %(days)d days, HTTP redirected; the proxy's "
            "X-Forwarded-* believed from %(proxies)s"
        )
        % {"days": settings.SECURE_HSTS_SECONDS // 86400, "proxies": proxies},
    )


def check_database() -> Iterator[Finding]:
    topic = _("database")
    try:
        connection.ensure_connection()
    except Exception as e:
        yield error(topic, _("unreachable: %(error)s") % {"error": str(e).strip()})
        return
    if connection.vendor == "sqlite":
        version = sqlite3.sqlite_version_info[:2]
        text = f"SQLite {sqlite3.sqlite_version}, {settings.DATABASES['default']['NAME']}"
        yield (ok if version >= MIN_SQLITE else error)(topic, text)
        return
    major = connection.pg_version // 10000  # type: ignore[attr-defined]
    s = settings.DATABASES["default"]
    where = f"{s.get('HOST') or 'localhost'}:{s.get('PORT') or 5432}/{s['NAME']}"
    text = f"PostgreSQL {major}.{connection.pg_version % 10000}, {where}"  # type: ignore[attr-defined]
    if major < MIN_POSTGRESQL:
        yield error(topic, text + _(" (%(min)d or newer needed)") % {"min": MIN_POSTGRESQL})
    else:
        yield ok(topic, text)


def check_migrations() -> Iterator[Finding]:
    topic = _("migrations")
    state = schema.status()
    if state.pending:
        yield error(
            topic,
            _("%(count)d not applied (%(list)s): run `smsdesk migrate`")
            % {"count": len(state.pending), "list": schema.describe(state.pending)},
        )
    if state.newer:
        yield error(
            topic,
            _(
                "the database was migrated by a newer smsdesk (%(list)s): install that "
                "version here too"
            )
            % {"list": schema.describe(state.newer)},
        )
    if state.current:
        yield ok(topic, _("all %(count)d applied") % {"count": len(schema.code_migrations())})


def check_gateways() -> Iterator[Finding]:
    try:
        specs = gateway_state.configured()
    except GatewayError as e:
        yield error(_("gateways"), str(e))
        return
    for spec in specs:
        topic = _("gateway %(name)s") % {"name": spec.name}
        try:
            gateway = registry.build(spec)
        except GatewayError as e:
            yield error(topic, str(e))
            continue
        problem = gateway.preflight()
        if problem is None:
            yield ok(
                topic,
                _("%(kind)s: configuration read (reached only by sending)") % {"kind": spec.kind},
            )
        elif problem:
            yield error(topic, f"{spec.kind}: {problem}")
        else:
            yield ok(topic, _("%(kind)s: configuration read, reachable") % {"kind": spec.kind})


def check_time_zone() -> Iterator[Finding]:
    now = timezone.localtime()
    yield ok(
        _("time zone"),
        _("%(zone)s, %(time)s there") % {"zone": settings.TIME_ZONE, "time": now.strftime("%H:%M")},
    )


def check_disk_space() -> Iterator[Finding]:
    topic = _("disk space")
    data_dir = Path(settings.DATA_DIR)
    free = shutil.disk_usage(data_dir).free
    database = 0
    if connection.vendor == "sqlite":
        name = Path(settings.DATABASES["default"]["NAME"])
        database = sum(p.stat().st_size for p in (name, Path(f"{name}-wal")) if p.exists())
    text = _("%(free)s free in %(dir)s") % {"free": _size(free), "dir": data_dir}
    if free < FREE_SPACE_ERROR:
        yield error(topic, text)
    elif free < max(FREE_SPACE_WARNING, 2 * database):
        yield warning(topic, text + _(" (a backup needs room for a copy of the database)"))
    else:
        yield ok(topic, text)


def check_file_modes() -> Iterator[Finding]:
    topic = _("file modes")
    data_dir = Path(settings.DATA_DIR)
    private = [(data_dir, 0o700), (data_dir / "secret_key", 0o600)]
    if connection.vendor == "sqlite":
        name = settings.DATABASES["default"]["NAME"]
        private += [(Path(f"{name}{suffix}"), 0o600) for suffix in ("", "-wal", "-shm")]
    env_file = settings.SMSDESK_ENV_FILE
    if env_file:
        private.append((Path(env_file), 0o640))  # root:smsdesk, its group reads it
    loose = []
    for path, mode in private:
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if stat.S_IMODE(info.st_mode) & ~mode:
            loose.append(f"{path} ({stat.S_IMODE(info.st_mode):o}, {mode:o} at most)")
        elif path != env_file and info.st_uid != os.geteuid():
            loose.append(f"{path} (owned by uid {info.st_uid}, not this user)")
    if loose:
        yield error(topic, _("others may read: %(files)s") % {"files": "; ".join(loose)})
    else:
        yield ok(topic, _("%(dir)s and its files private") % {"dir": data_dir})


def check_static_files() -> Iterator[Finding]:
    root = getattr(settings, "STATIC_ROOT", None)
    if not root:
        return
    topic = _("static files")
    if (Path(root) / "staticfiles.json").exists():
        yield ok(topic, _("collected in %(dir)s, cached for ever") % {"dir": root})
    else:
        yield error(
            topic, _("nothing collected in %(dir)s: run `smsdesk collectstatic`") % {"dir": root}
        )


def check_worker() -> Iterator[Finding]:
    topic = _("worker")
    workers = running_workers()
    if workers:
        hosts = sorted({w.hostname for w in workers})
        yield ok(
            topic,
            _("%(count)d running (%(hosts)s)") % {"count": len(workers), "hosts": ", ".join(hosts)},
        )
    else:
        yield warning(topic, _("none running: nothing is sent until `smsdesk worker` runs"))


def check_mail() -> Iterator[Finding]:
    """Where mail goes, whether it can get there (a connection and the server's greeting,
    nothing sent), who it comes from, and what waits in the outbox."""
    topic = _("mail")
    url = mailer.parse(settings.SMSDESK_EMAIL_URL)
    where = url.masked()
    if url.scheme == "console":
        yield warning(topic, _("%(url)s: mails are only printed by the worker") % {"url": where})
    elif url.scheme == "file":
        folder = Path(url.path)
        parent = folder if folder.exists() else folder.parent
        if os.access(parent, os.W_OK):
            yield ok(
                topic,
                _(
                    "%(url)s: mails are written there as files, none is sent (set "
                    "SMSDESK_EMAIL_URL to an SMTP server to send them)"
                )
                % {"url": where},
            )
        else:
            yield error(topic, _("%(url)s: the folder cannot be written") % {"url": where})
    else:
        problem = mailer.reachable(url)
        if problem:
            yield error(
                topic, _("%(url)s cannot be reached: %(why)s") % {"url": where, "why": problem}
            )
        else:
            yield ok(topic, _("%(url)s answers") % {"url": where})
    yield ok(_("mail sender"), settings.SMSDESK_EMAIL_FROM)
    if settings.SMSDESK_BASE_URL == "http://localhost:8000":
        yield warning(
            _("mail links"),
            _("SMSDESK_BASE_URL is not set: links in mails point to http://localhost:8000"),
        )
    waiting = mail_delivery.waiting()
    failed = mail_delivery.failed_recently()
    if failed:
        yield warning(
            _("mail outbox"),
            _("%(waiting)d waiting, %(failed)d given up in the last 3 days")
            % {"waiting": waiting, "failed": failed},
        )
    else:
        yield ok(_("mail outbox"), _("%(waiting)d waiting") % {"waiting": waiting})


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


CHECKS: tuple[Callable[[], Iterator[Finding]], ...] = (
    check_django,
    check_secret_key,
    check_allowed_hosts,
    check_https,
    check_database,
    check_migrations,
    check_gateways,
    check_time_zone,
    check_disk_space,
    check_file_modes,
    check_static_files,
    check_worker,
    check_mail,
)
# What can only be asked of a reachable database, skipped (said once) when it is not.
NEEDS_DATABASE = {check_migrations, check_worker, check_mail}


def run_all() -> list[Finding]:
    try:
        connection.ensure_connection()
        database_up = True
    except Exception:
        database_up = False  # check_database says why, once
    findings: list[Finding] = []
    for check in CHECKS:
        if check in NEEDS_DATABASE and not database_up:
            continue
        try:
            findings += list(check())
        except Exception as e:
            topic = check.__name__.removeprefix("check_")
            findings.append(error(topic, _("could not check: %(error)s") % {"error": e}))
    return findings
