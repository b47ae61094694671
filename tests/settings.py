"""Test settings: everything in a throw-away data directory, fast password hashing."""

import os
import tempfile

os.environ.setdefault("SMSDESK_DATA_DIR", tempfile.mkdtemp(prefix="smsdesk-test-"))

from smsdesk.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
