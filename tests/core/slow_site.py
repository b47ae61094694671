"""Settings for the test of `serve`'s stop (tests/core/test_serve_stop.py): the real site
plus one page that takes a known time to answer (tests/core/slow_urls.py)."""

from smsdesk.settings import *  # noqa: F403

ROOT_URLCONF = "tests.core.slow_urls"
