"""Django settings for smsdesk, read from SMSDESK_* environment variables.

Defaults give a working box with nothing set: SQLite in the data directory, the simulated
network, French interface, Europe/Paris time zone.
"""

from __future__ import annotations

import re as _re
import socket as _socket
from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from smsdesk import mailer as _mailer
from smsdesk.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_database_url,
    env_int,
    env_keywords,
    env_list,
    env_log_level,
    env_networks,
    env_region,
    env_secret,
    env_str,
    env_time_zone,
    env_window,
    env_words,
    load_env_file,
)
from smsdesk.config import data_dir as _data_dir
from smsdesk.config import private_sqlite_file as _private_sqlite_file
from smsdesk.config import secret_key as _secret_key
from smsdesk.core.logs import logging_config
from smsdesk.gateways import registry as _gateway_registry
from smsdesk.gateways.base import GatewayError as _GatewayError
from smsdesk.sms.keywords import DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS

# SMSDESK_ENV_FILE (the install's /etc/smsdesk/smsdesk.env): what systemd gives the services,
# read here too so that a command typed by an administrator runs with the same settings.
SMSDESK_ENV_FILE = load_env_file()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = _data_dir()  # created 0700, or made 0700 if looser

SECRET_KEY = _secret_key(DATA_DIR)
DEBUG = env_bool("SMSDESK_DEBUG", False)
ALLOWED_HOSTS = env_list("SMSDESK_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("SMSDESK_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    # two-factor login (accounts/twofactor.py): TOTP apps and recovery codes
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",  # the API docs' assets (swagger-ui) from the package, not a CDN
    "smsdesk.core",
    "smsdesk.audit",
    "smsdesk.accounts",
    "smsdesk.messaging",
    "smsdesk.directory",
    "smsdesk.optout",
    "smsdesk.calls",
    "smsdesk.dashboard",
    "smsdesk.mail",
    "smsdesk.webhooks",
    "smsdesk.notify",
    "smsdesk.retention",
    "smsdesk.api",
    "smsdesk.worker",
    "smsdesk.ops",
    "smsdesk.tenants",
]

MIDDLEWARE = [
    # first: every log line of the request carries its id (X-Request-ID)
    "smsdesk.core.logs.RequestIdMiddleware",
    # what every page asks several times (the lines' owners), read once per request
    "smsdesk.core.memo.RequestMemoMiddleware",
    # the proxy's X-Forwarded-* believed from SMSDESK_TRUSTED_PROXIES only, removed otherwise
    "smsdesk.core.proxies.TrustedProxyMiddleware",
    # /healthz, /readyz, /metrics: before the host check, the HTTPS redirect and the login
    "smsdesk.ops.middleware.OpsEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # after the static files: times pages and API calls only
    "smsdesk.ops.middleware.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "smsdesk.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): this session passed the second factor (django-otp)
    "django_otp.middleware.OTPMiddleware",
    # who and from where, for the audit log's entries (audit/services.py)
    "smsdesk.audit.middleware.AuditContextMiddleware",
    # the user's own language and time zone (Mon compte), once the login is known
    "smsdesk.accounts.middleware.UserPreferencesMiddleware",
    "smsdesk.core.middleware.QueryControlsMiddleware",
    # /api/v1/: unknown query parameters, methods and media types refused, from the schema
    "smsdesk.api.middleware.StrictApiMiddleware",
    # an API POST with an Idempotency-Key: taken and answered in one transaction
    "smsdesk.api.idempotency.IdempotencyMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # request.organisation; the platform administrator and read-only accounts kept in bounds
    "smsdesk.accounts.middleware.OrganisationMiddleware",
    # a user who must use two-factor login and has no device: only its set-up page
    "smsdesk.accounts.login.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "smsdesk.core.middleware.NoStoreMiddleware",
    # last: it answers a locked-out login attempt before the view runs
    "axes.middleware.AxesMiddleware",
]
# What only pages need: a program's API request (a bearer token, no session cookie) goes
# through the others, in the same order (core/handler.py; issue 19).
PAGE_ONLY_MIDDLEWARE = {
    "smsdesk.ops.middleware.OpsEndpointsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "smsdesk.accounts.login.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
}
API_MIDDLEWARE = [m for m in MIDDLEWARE if m not in PAGE_ONLY_MIDDLEWARE]

ROOT_URLCONF = "smsdesk.urls"
WSGI_APPLICATION = "smsdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smsdesk.core.context_processors.menu",
                "smsdesk.accounts.context_processors.login_rules",
                "smsdesk.accounts.context_processors.visit_banner",
                "smsdesk.worker.context_processors.worker_status",
                "smsdesk.core.disk.disk_space",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
# Seconds a write waits for another one's lock (SQLite's busy timeout, PostgreSQL's
# lock_timeout) before the request gets a plain 503 (core/faults.py): well under the 60 s a
# reverse proxy usually waits, so the user sees our page, not the proxy's.
SMSDESK_LOCK_WAIT = env_int("SMSDESK_LOCK_WAIT", 10, minimum=1)
DATABASE_URL = env_str("SMSDESK_DATABASE_URL", f"sqlite:///{DATA_DIR / 'smsdesk.sqlite3'}")
DATABASES = {"default": env_database_url("SMSDESK_DATABASE_URL", DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web pages read while the worker writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue on the busy timeout instead of failing with "locked".
    # synchronous=FULL syncs every commit: a saved message survives a power cut, not only a
    # crash. The worker commits per batch, so this costs little (bench/RESULTS.md).
    # Connections are kept between requests (dj_database_url's 600 s, as on PostgreSQL):
    # closing the last connection of a WAL database checkpoints it and deletes the WAL file,
    # 4 ms of each API request when every request opened and closed its own (issue 19,
    # bench/api.py --profile).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SMSDESK_LOCK_WAIT,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        ),
    }
    # Tests start worker processes that must see the test database: keep it in a file.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("SMSDESK_TEST_SQLITE", str(DATA_DIR / "test-smsdesk.sqlite3"))
    }
    # Created 0600 before SQLite opens it (its -wal and -shm then get the same mode).
    _private_sqlite_file(DATABASES["default"]["NAME"])
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # No JIT: our queries read a page or a batch through an index, but a subquery's cost
    # estimate can pass jit_above_cost and compile for 150 ms a query that runs in 4 ms
    # (the home page at a million messages, bench/RESULTS.md). Usual advice for web loads.
    # A lock waited for longer than SMSDESK_LOCK_WAIT fails the statement (a plain 503).
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = (
        f"{_pg_options.get('options', '')} -c jit=off -c lock_timeout={SMSDESK_LOCK_WAIT}s"
    ).strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # first: refuses a locked-out user name before the password is even checked
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Database sessions that carry their user's id in a column: a suspension or a password
# change deletes that user's sessions with one indexed DELETE (smsdesk/accounts/sessions.py).
SESSION_ENGINE = "smsdesk.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SMSDESK_SESSION_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_SECURE = env_bool("SMSDESK_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (core/proxies.py).
SMSDESK_TRUSTED_PROXIES = env_networks("SMSDESK_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
if SESSION_COOKIE_SECURE:
    # Behind HTTPS: browsers keep to HTTPS for a year, and a page asked over plain HTTP is
    # redirected. The reverse proxy says the request came over HTTPS with X-Forwarded-Proto,
    # believed from SMSDESK_TRUSTED_PROXIES only (README "Production").
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
# Whether subdomains share the HSTS promise, and preloading it into browsers, commit other
# services of the domain: the domain's owner decides, not smsdesk (`smsdesk check` is quiet).
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

# Login throttling (django-axes): a user name is locked out from one address after
# SMSDESK_LOGIN_FAILURES wrong passwords, for SMSDESK_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("SMSDESK_LOGIN_FAILURES", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SMSDESK_LOCKOUT_MINUTES", 15, minimum=0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # our own log line says it in one line (accounts/apps.py)

# Content-Security-Policy: everything from the project itself, no inline script or style
# attribute (templates keep JS in static files), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Bootstrap draws some icons as data: SVG
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- language and time --------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# one date format per language, 24-hour clock in both (smsdesk/formats/)
FORMAT_MODULE_PATH = ["smsdesk.formats"]
TIME_ZONE = env_time_zone("SMSDESK_TIME_ZONE", "Europe/Paris")
USE_TZ = True

# --- static files: served by the app itself, never from a CDN ------------------------------
STATIC_URL = "static/"
SMSDESK_STATIC_ROOT = env_str("SMSDESK_STATIC_ROOT")
if SMSDESK_STATIC_ROOT:
    # Production (the install, the container image): `smsdesk collectstatic` wrote the files
    # there with a hash in each name, so WhiteNoise serves them with a far-future
    # `Cache-Control: max-age=315360000, immutable`, compressed.
    STATIC_ROOT = SMSDESK_STATIC_ROOT
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "smsdesk.core.staticfiles.StaticFilesStorage"},
    }
else:
    # Embedded: WhiteNoise serves the files straight from the packages (cached a minute):
    # no collectstatic step to forget.
    WHITENOISE_USE_FINDERS = True

# --- SMS ----------------------------------------------------------------------------------
# Gateways this installation talks to, see README "Gateways". The first one sends by default.
SMSDESK_GATEWAYS = env_words("SMSDESK_GATEWAYS", ["simulator"])
try:  # a wrong kind, name or option stops every command here, in one line (exit 2)
    _gateway_registry.check(SMSDESK_GATEWAYS)
except _GatewayError as _e:
    raise ConfigError(f"SMSDESK_GATEWAYS: {_e}") from None
# --- Scale-out (docs/scaling.md) -----------------------------------------------------------
# The name of this host, as the Passerelles page, /metrics and the line leases show it.
SMSDESK_HOST = env_str("SMSDESK_HOST", "") or _socket.gethostname()
# The lines (SMSDESK_GATEWAYS names) a worker on this host may drive; empty: all of them. A
# modem's line is listed only on the host that has the device.
SMSDESK_WORKER_LINES = env_list("SMSDESK_WORKER_LINES", [])
_line_names = [_spec.name for _spec in _gateway_registry.configured(SMSDESK_GATEWAYS)]
_unknown_lines = [_n for _n in SMSDESK_WORKER_LINES if _n not in _line_names]
if _unknown_lines:
    raise ConfigError(
        f"SMSDESK_WORKER_LINES: {', '.join(repr(_n) for _n in _unknown_lines)} is not a line "
        f"of SMSDESK_GATEWAYS (its lines: {', '.join(_line_names)})"
    )
# A worker holds each line it drives through a lease renewed every quarter of this; a worker
# silent twice this long is dead (what it had in flight becomes `unknown`).
SMSDESK_LINE_LEASE_SECONDS = env_int("SMSDESK_LINE_LEASE_SECONDS", 30, minimum=3)
# Routing (docs/gateways.md "Routing, limits and watch"): a line down this many seconds has
# its waiting messages moved to the next line of its pool (when its `failover` is on).
SMSDESK_FAILOVER_AFTER = env_int("SMSDESK_FAILOVER_AFTER", 60, minimum=0)
# The watch: over a line's last SMSDESK_WATCH_MESSAGES results (judged from
# SMSDESK_WATCH_MIN_MESSAGES on), the line is paused when this share (percent) failed, or
# was `unknown`, or when its receipts' median delay reaches this many seconds (0: not judged).
SMSDESK_WATCH_MESSAGES = env_int("SMSDESK_WATCH_MESSAGES", 50, minimum=1)
SMSDESK_WATCH_MIN_MESSAGES = env_int("SMSDESK_WATCH_MIN_MESSAGES", 20, minimum=1)
SMSDESK_WATCH_FAILED_PERCENT = env_int("SMSDESK_WATCH_FAILED_PERCENT", 50, minimum=0)
SMSDESK_WATCH_UNKNOWN_PERCENT = env_int("SMSDESK_WATCH_UNKNOWN_PERCENT", 20, minimum=0)
SMSDESK_WATCH_REPORT_DELAY = env_int("SMSDESK_WATCH_REPORT_DELAY", 3600, minimum=0)
SMSDESK_DEFAULT_REGION = env_region("SMSDESK_DEFAULT_REGION", "FR")
# A text may use at most this many concatenated parts (10 = 1,530 GSM-7 or 670 UCS-2 chars).
SMSDESK_MAX_SEGMENTS = env_int("SMSDESK_MAX_SEGMENTS", 10, minimum=1)
SMSDESK_MAX_RECIPIENTS = env_int("SMSDESK_MAX_RECIPIENTS", 100_000, minimum=1)
# How far ahead a send may be scheduled, in days.
SMSDESK_MAX_SCHEDULE_DAYS = env_int("SMSDESK_MAX_SCHEDULE_DAYS", 365, minimum=0)
# A recurring send's occurrence missed while no worker ran is still sent when a worker comes
# back within this many minutes; later it is skipped and logged (never sent twice).
SMSDESK_RECURRING_TOLERANCE = env_int("SMSDESK_RECURRING_TOLERANCE", 60, minimum=0)
# Largest request body (a New SMS form or an API call); 100,000 numbers fit in 4 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("SMSDESK_MAX_REQUEST_BYTES", 4 * 1024 * 1024, minimum=1)
SMSDESK_MAX_ATTEMPTS = env_int("SMSDESK_MAX_ATTEMPTS", 5, minimum=1)
# Seconds to wait for the missing parts of a long SMS before storing it incomplete.
SMSDESK_CONCAT_WAIT = env_int("SMSDESK_CONCAT_WAIT", 3600, minimum=0)
# Pages ask this often whether an SMS arrived, for the notices (README "In the browser");
# 0 turns the notices off for everyone.
SMSDESK_NOTIFY_SECONDS = env_int("SMSDESK_NOTIFY_SECONDS", 10, minimum=0)
# A query of a customer's data without its organisation: logged as an error in production (the
# page keeps working), an exception in the tests (core/tenancy.py).
SMSDESK_STRICT_TENANCY = env_bool("SMSDESK_STRICT_TENANCY", False)
# Administrators see a banner when the data directory's disk has less free space than this
# (MB; 0: never).
SMSDESK_DISK_LOW_MB = env_int("SMSDESK_DISK_LOW_MB", 500, minimum=0)
# Contact import: the largest CSV file accepted (20 MB: about 400,000 lines of name and number).
SMSDESK_IMPORT_MAX_BYTES = env_int("SMSDESK_IMPORT_MAX_BYTES", 20_000_000, minimum=1)
# Files a user may keep waiting between an upload and its import or send (directory/uploads.py):
# how many, and their total size (at least one file of the largest size).
SMSDESK_UPLOADS_PER_USER = env_int("SMSDESK_UPLOADS_PER_USER", 5, minimum=1)
SMSDESK_UPLOADS_MAX_BYTES = env_int(
    "SMSDESK_UPLOADS_MAX_BYTES",
    max(50_000_000, SMSDESK_IMPORT_MAX_BYTES),
    minimum=SMSDESK_IMPORT_MAX_BYTES,
)
# On SIGTERM, how many seconds a hand-over in progress may take before the worker marks what
# the gateway still has `unknown` and exits.
SMSDESK_STOP_GRACE = env_int("SMSDESK_STOP_GRACE", 30, minimum=0)
# Hours after which a sent message still waiting for its delivery report is counted apart on
# the home page (and a report that matched no message is forgotten).
SMSDESK_REPORT_TIMEOUT = env_int("SMSDESK_REPORT_TIMEOUT", 48, minimum=1)
# Webhooks may call addresses of the local network (loopback, 10/8, ...): off by default, as
# such an address lets whoever registers an endpoint probe the server's own network.
SMSDESK_WEBHOOK_ALLOW_PRIVATE = env_bool("SMSDESK_WEBHOOK_ALLOW_PRIVATE", False)
# API requests per second per token (0: no limit); over it: 429 with Retry-After.
SMSDESK_API_RATE = env_int("SMSDESK_API_RATE", 50, minimum=0)
# The API's sends that arrive together in a process committed in one transaction
# (core/groupcommit.py). On by default on SQLite only: on PostgreSQL it measured slower (the
# leader's round trips in a row, where separate connections overlap them; PostgreSQL groups
# concurrent commits' WAL flushes itself): bench/RESULTS.md, "Issue 19: single-message ingest".
SMSDESK_API_GROUP_COMMIT = env_bool(
    "SMSDESK_API_GROUP_COMMIT", DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
)
SMSDESK_API_TOKEN_PEPPER = env_secret("SMSDESK_API_TOKEN_PEPPER", "")

# Two-factor login for every user of the platform (each user's own `require_2fa` otherwise:
# `smsdesk user set NAME --require-2fa`); a user without a device is sent to its set-up.
SMSDESK_REQUIRE_2FA = env_bool("SMSDESK_REQUIRE_2FA", False)
OTP_TOTP_ISSUER = "smsdesk"

# --- outgoing mail (docs/email.md) ----------------------------------------------------------
# Where mail goes: smtp+tls://user:password@host:587, smtp+ssl://host:465, smtp://host:25,
# console: (standard output) or file:///a/folder (one .eml file per mail). The default, a
# folder in the data directory, works with no mail server at all. Mails are written to an
# outbox in the transaction of what causes them and sent by the worker (smsdesk/mail/).
SMSDESK_EMAIL_URL = env_secret("SMSDESK_EMAIL_URL", f"file://{DATA_DIR / 'mail'}")
SMSDESK_EMAIL_FROM = env_str("SMSDESK_EMAIL_FROM", "smsdesk <smsdesk@localhost>")
try:  # a wrong transport or sender stops every command here, in one line (exit 2)
    _mailer.parse(SMSDESK_EMAIL_URL)
except _mailer.MailConfigError as _e:
    raise ConfigError(f"SMSDESK_EMAIL_URL: {_e}") from None
try:
    _mailer.check_sender(SMSDESK_EMAIL_FROM)
except _mailer.MailConfigError as _e:
    raise ConfigError(f"SMSDESK_EMAIL_FROM: {_e}") from None
DEFAULT_FROM_EMAIL = SMSDESK_EMAIL_FROM
# What Django sends itself (the password reset mail) goes into the same outbox.
EMAIL_BACKEND = "smsdesk.mail.backend.OutboxBackend"
# The address of the site as its users reach it, for the links in mails the worker writes
# (a copy of an SMS, "stop these mails"); `smsdesk check` warns while it is not set.
SMSDESK_BASE_URL = env_str("SMSDESK_BASE_URL", "http://localhost:8000").rstrip("/")
# Copies of received SMS by email: these addresses get every one, besides the users who
# asked on Mon compte; the copies of one address leave as one mail once the first has waited
# this many seconds (many SMS at once: one mail listing them).
SMSDESK_EMAIL_COPIES_TO = env_list("SMSDESK_EMAIL_COPIES_TO", [])
SMSDESK_EMAIL_COPY_GROUP_SECONDS = env_int("SMSDESK_EMAIL_COPY_GROUP_SECONDS", 60, minimum=0)
# Reply by email (docs/email.md): a copy of an SMS to a user carries a Reply-To
# reply+TOKEN@SMSDESK_EMAIL_REPLY_DOMAIN (default: the sender's domain), and the mail server
# pipes what arrives there to `smsdesk mail receive`, which sends it as an SMS.
SMSDESK_EMAIL_REPLY = env_bool("SMSDESK_EMAIL_REPLY", False)
SMSDESK_EMAIL_REPLY_DOMAIN = env_str("SMSDESK_EMAIL_REPLY_DOMAIN", "").strip().lower()
if SMSDESK_EMAIL_REPLY_DOMAIN and not _re.fullmatch(
    r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", SMSDESK_EMAIL_REPLY_DOMAIN
):
    raise ConfigError(
        f"SMSDESK_EMAIL_REPLY_DOMAIN: {SMSDESK_EMAIL_REPLY_DOMAIN!r} is not a domain such as "
        "sms.example.org"
    )
# The HTTP inbound hook of reply by email (POST /mail/inbound/, for a mail provider): its
# secret (Authorization: Bearer, or ?token=). Empty: the hook answers 404.
SMSDESK_EMAIL_INBOUND_TOKEN = env_str("SMSDESK_EMAIL_INBOUND_TOKEN", "").strip()
# The daily summary (Mon compte) leaves at this hour, in each organisation's time zone.
SMSDESK_EMAIL_SUMMARY_HOUR = env_int("SMSDESK_EMAIL_SUMMARY_HOUR", 7, minimum=0)
if SMSDESK_EMAIL_SUMMARY_HOUR > 23:
    raise ConfigError(
        f"SMSDESK_EMAIL_SUMMARY_HOUR: {SMSDESK_EMAIL_SUMMARY_HOUR} is not an hour (0 to 23)"
    )
# Administrators get a mail when a gateway has been down this long.
SMSDESK_EMAIL_GATEWAY_DOWN_MINUTES = env_int("SMSDESK_EMAIL_GATEWAY_DOWN_MINUTES", 15, minimum=1)
# Data retention (docs/audit.md): messages, calls and audit entries older than this many
# months are deleted by the worker, in small batches (0: kept for ever).
SMSDESK_RETENTION_MONTHS = env_int("SMSDESK_RETENTION_MONTHS", 0, minimum=0)
# A password reset link works once, for this many minutes.
PASSWORD_RESET_TIMEOUT = env_int("SMSDESK_PASSWORD_RESET_MINUTES", 30, minimum=5) * 60
# Reset requests accepted per address and per client address (IP) in an hour.
SMSDESK_PASSWORD_RESET_PER_HOUR = env_int("SMSDESK_PASSWORD_RESET_PER_HOUR", 5, minimum=1)

# --- STOP list, calls, commercial sending (README "SMS STOP", "Appels", "SMS commerciaux") --
SMSDESK_STOP_KEYWORDS = env_keywords("SMSDESK_STOP_KEYWORDS", list(DEFAULT_OPT_OUT_KEYWORDS))
SMSDESK_START_KEYWORDS = env_keywords("SMSDESK_START_KEYWORDS", list(DEFAULT_OPT_IN_KEYWORDS))
SMSDESK_STOP_CONFIRMATION = env_bool("SMSDESK_STOP_CONFIRMATION", True)
SMSDESK_STOP_CONFIRMATION_TEXT = env_str(
    "SMSDESK_STOP_CONFIRMATION_TEXT",
    "Vous ne recevrez plus nos SMS. Envoyez START pour vous réabonner.",
)
# A number that says STOP again within this delay gets no second confirmation.
SMSDESK_STOP_CONFIRMATION_DELAY_HOURS = env_int(
    "SMSDESK_STOP_CONFIRMATION_DELAY_HOURS", 24, minimum=0
)
# For the gateways that can refuse a call (a modem): the SIM never answers a call anyway.
SMSDESK_CALLS_HANG_UP = env_bool("SMSDESK_CALLS_HANG_UP", True)
SMSDESK_CALLS_AUTO_REPLY = env_bool("SMSDESK_CALLS_AUTO_REPLY", False)
SMSDESK_CALLS_AUTO_REPLY_TEXT = env_str(
    "SMSDESK_CALLS_AUTO_REPLY_TEXT",
    "Ce numéro ne prend pas les appels. Écrivez-nous par SMS, nous vous répondrons.",
)
SMSDESK_COMMERCIAL_MENTION = env_str("SMSDESK_COMMERCIAL_MENTION", "STOP SMS : répondez STOP")
SMSDESK_COMMERCIAL_TIME_ZONE = env_time_zone("SMSDESK_COMMERCIAL_TIME_ZONE", "Europe/Paris")
SMSDESK_COMMERCIAL_WINDOW = env_window("SMSDESK_COMMERCIAL")

# --- operations (README "Production") -----------------------------------------------------
# /metrics: for a bearer token, or from these addresses (a scraper on a private network).
SMSDESK_METRICS_TOKEN = env_secret("SMSDESK_METRICS_TOKEN", "")
SMSDESK_METRICS_ALLOW = env_networks("SMSDESK_METRICS_ALLOW", [])

# One line per event on stderr (journald, docker logs), plain or JSON, with the request id.
LOGGING = logging_config(
    level=env_log_level("SMSDESK_LOG_LEVEL", "INFO"),
    fmt=env_choice("SMSDESK_LOG_FORMAT", "plain", ("plain", "json")),
    access_log=env_bool("SMSDESK_ACCESS_LOG", False),
)
