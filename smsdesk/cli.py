"""The `smsdesk` console command: Django's management commands with our settings."""

from __future__ import annotations

import os
import sys

# The commands a user of smsdesk needs, in the order they meet them; Django's own
# (migrate, changepassword, dbshell, ...) stay available and are listed by `help --all`.
OWN_COMMANDS = (
    "serve",
    "web",
    "worker",
    "check",
    "backup",
    "restore",
    "org",
    "createuser",
    "user",
    "audit",
    "purge",
    "mail",
    "createtoken",
    "send",
    "autoreply",
    "campaigns",
    "messages",
    "contacts",
    "simulate",
    "optout",
    "modem",
    "pdu",
)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsdesk.settings")
    from django.core.management import execute_from_command_line

    from smsdesk.config import ConfigError
    from smsdesk.core.errors import ServiceError

    args = sys.argv[1:] if argv is None else argv
    for position, arg in enumerate(args, start=1):
        # Python reads bytes that are not UTF-8 as lone surrogates; they cannot be stored.
        if any("\udc80" <= c <= "\udcff" for c in arg):
            sys.stderr.write(
                f"smsdesk: argument {position} is not valid UTF-8 text; "
                "check the terminal's or the script's encoding\n"
            )
            sys.exit(1)
    # the audit log's entries written by a command: the platform administrator's, "cli"
    from smsdesk.audit import context as audit_context

    audit_context.bind(via=audit_context.CLI)
    try:
        if args in ([], ["help"], ["-h"], ["--help"]):
            sys.stdout.write(overview())
            return
        if args == ["help", "--all"]:
            args = ["help"]
        execute_from_command_line(["smsdesk", *args])
    except ConfigError as e:
        sys.stderr.write(f"smsdesk: configuration error: {e}\n")
        sys.exit(2)
    except BrokenPipeError:
        # The reader left (`smsdesk contacts export | head`): stop quietly, as a pipe's
        # writer does. Python's own flush at exit would fail again: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a writer stopped so
    except ServiceError as e:  # a command that let a refusal through: still one line
        sys.stderr.write(f"smsdesk: {e.message}\n")
        sys.exit(1)
    except Exception as e:
        from smsdesk.core import faults  # Django is set up by now

        fault = faults.classify(e)
        if fault is None:
            raise
        sys.stderr.write(f"smsdesk: {faults.one_line(fault, e)}\n")
        sys.exit(1)


def overview() -> str:
    """`smsdesk --help`: our commands with the first sentence of their own help."""
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    apps = get_commands()
    lines = ["usage: smsdesk COMMAND [OPTIONS]   (smsdesk COMMAND --help: its options)", ""]
    for name in OWN_COMMANDS:
        summary = load_command_class(apps[name], name).help.split(". ")[0].rstrip(".")
        lines.append(f"  {name:<12} {summary}")
    lines += [
        "",
        "Django's administration commands (migrate, changepassword, ...): smsdesk help --all",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
