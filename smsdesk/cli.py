"""The `smsdesk` console command: Django's management commands with our settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsdesk.settings")
    from django.core.management import execute_from_command_line

    from smsdesk.config import ConfigError

    try:
        execute_from_command_line(["smsdesk", *(sys.argv[1:] if argv is None else argv)])
    except ConfigError as e:
        sys.stderr.write(f"smsdesk: configuration error: {e}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
