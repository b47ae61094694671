"""Test settings: everything in a throw-away data directory, fast password hashing."""

import os
import tempfile

os.environ.setdefault("SMSDESK_DATA_DIR", tempfile.mkdtemp(prefix="smsdesk-test-"))
# Under pytest-xdist each worker process has its own data directory (SQLite file, uploads):
# the environment above is inherited from the controller, which imported these settings first.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["SMSDESK_DATA_DIR"] = os.path.join(os.environ["SMSDESK_DATA_DIR"], worker)
    os.makedirs(os.environ["SMSDESK_DATA_DIR"], exist_ok=True)

from smsdesk.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# No notice of new SMS pops up over the pages other tests look at; the tests of the notices
# (tests/browser/test_phone.py, tests/accounts/test_notification_settings.py) turn them on.
SMSDESK_NOTIFY_SECONDS = 0
# A query of a customer's data without its organisation is an error here (core/tenancy.py).
SMSDESK_STRICT_TENANCY = True
# No API rate limit, so that the fuzzing of the API (schemathesis) reaches every operation;
# the tests of the limit (tests/api/test_tokens.py) set SMSDESK_API_RATE themselves.
SMSDESK_API_RATE = 0
