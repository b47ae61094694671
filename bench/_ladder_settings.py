"""smsdesk's settings with bench/_ladder_urls.py in front of smsdesk.urls (ingest ladder)."""

import os

from smsdesk.settings import *  # noqa: F403

ROOT_URLCONF = "bench._ladder_urls"

if os.environ.get("LADDER_PREPARED") and DATABASES["default"]["ENGINE"].startswith(  # noqa: F405
    "django.db.backends.postgresql"
):
    # an experiment: psycopg's server-side binding, statements prepared after 5 uses
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True  # noqa: F405
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5  # noqa: F405
