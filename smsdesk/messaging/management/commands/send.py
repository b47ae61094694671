import os
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.accounts.models import User
from smsdesk.core.errors import ServiceError
from smsdesk.directory import imports
from smsdesk.directory import services as directory
from smsdesk.directory.services import Targets
from smsdesk.messaging import recurring, sending


class Command(BaseCommand):
    help = "Queue an SMS to numbers, contacts and groups (sent by the worker, now or at --at)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        add_org_argument(parser)
        parser.add_argument(
            "--to",
            nargs="+",
            action="extend",  # --to A --to B sends to both
            default=[],
            metavar="NUMBER",
            help="recipients, e.g. +33612345678 or 06 12 34 56 78 (quoted); repeatable",
        )
        parser.add_argument(
            "--contact",
            action="append",
            default=[],
            metavar="NAME_OR_NUMBER",
            help="a contact of the directory, by number or exact name (repeatable)",
        )
        parser.add_argument(
            "--group", action="append", default=[], metavar="NAME", help="a group (repeatable)"
        )
        parser.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            help="send as this user of the organisation (their own quota applies; the "
            "author shown on the messages)",
        )
        parser.add_argument(
            "--text",
            required=True,
            help="the text of the SMS; may hold fields, {prénom} or {prénom|default}",
        )
        parser.add_argument(
            "--at",
            metavar="ISO-DATETIME",
            help="send later, e.g. 2026-12-01T09:30 (local time) or with offset; with --every, "
            "the local time of each occurrence, e.g. 09:00",
        )
        repeat = parser.add_argument_group("recurring send (each occurrence a campaign)")
        repeat.add_argument("--every", choices=["day", "week", "month"], help="repeat the send")
        repeat.add_argument("--on", metavar="DAYS", help="with --every week: e.g. mon,thu")
        repeat.add_argument(
            "--day", metavar="DAY", help="with --every month: 1 to 31, or last-fri (for example)"
        )
        ends = repeat.add_mutually_exclusive_group()
        ends.add_argument("--until", metavar="DATE", help="last date, e.g. 2027-06-30")
        ends.add_argument("--times", type=int, metavar="N", help="how many occurrences")

        parser.add_argument(
            "--commercial",
            action="store_true",
            help="advertising: adds the opt-out mention, waits for the allowed hours",
        )

        parser.add_argument("--tag", default="", help="a free label for the campaign")
        parser.add_argument(
            "--from",
            dest="line",
            metavar="LINE",
            default="",
            help="the line to send through: its name (SMSDESK_GATEWAYS) or its sender name or "
            "number; without it each recipient's line follows the routing (docs/gateways.md)",
        )
        parser.add_argument(
            "--smart-encoding",
            action="store_true",
            help="replace typographic characters (’ « » – … non-breaking spaces) by their GSM "
            "look-alikes, so that the SMS stays GSM-7; the stored text is the text sent",
        )
        parser.add_argument(
            "--flash",
            action="store_true",
            help="a flash SMS (class 0), through a line that can send one",
        )
        parser.add_argument(
            "--personalise",
            action="store_true",
            help="read fields in the text, {prénom} or {ville|default}; without it the text "
            "is sent as written, braces included (a CSV file's columns are always read)",
        )
        parser.add_argument(
            "--csv",
            metavar="FILE",
            help="recipients from a CSV file (a number column; other titled columns are "
            "fields of the text, {column}); rejected lines are listed on stderr",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        org = organisation_from(opts)
        opts["author"] = _author(opts["as_user"], org)
        if opts["every"]:
            return self._repeat(opts, org)
        for name in ("on", "day", "until", "times"):
            if opts[name] is not None:
                raise CommandError(_("--%(option)s goes with --every.") % {"option": name})
        send_at = None
        if opts["at"]:
            try:
                send_at = datetime.fromisoformat(opts["at"])
            except ValueError:
                raise CommandError(
                    _("--at: “%(value)s” is not a date and time like 2026-12-01T09:30")
                    % {"value": opts["at"]}
                ) from None
        recipient_file = None
        try:
            if opts["csv"]:
                recipient_file = imports.read_recipients(
                    _read(opts["csv"]), name=os.path.basename(opts["csv"])
                )
                self.stderr.write(imports.recipients_line(recipient_file))
                for rejected in recipient_file.rejected:
                    self.stderr.write(imports.rejected_line(rejected))
            targets = _targets(opts, org)
            campaign = sending.create_campaign(
                author=opts["author"],
                org=org,
                body=opts["text"],
                targets=targets,
                send_at=send_at,
                source="cli",
                commercial=opts["commercial"],
                tag=opts["tag"],
                recipient_file=recipient_file,
                smart_encoding=opts["smart_encoding"],
                flash=opts["flash"],
                personalise_text=opts["personalise"] or recipient_file is not None,
                gateway=opts["line"] or None,
            )
        except ServiceError as e:
            # over the quota or the recipients per day: exit code 2, as for the other
            # refusals of the platform's rules
            code = 2 if e.code in ("quota_exceeded", "recipient_limit_exceeded") else 1
            raise CommandError(str(e.message), returncode=code) from None
        when = timezone.localtime(campaign.send_at).strftime("%Y-%m-%d %H:%M")
        for m in campaign.created_messages:
            self.stdout.write(f"{m.id}\t{m.peer}\t{m.status}\t{when}")
        if warning := sending.blocked_warning(campaign):
            self.stderr.write(warning)

    def _repeat(self, opts, org) -> None:  # type: ignore[no-untyped-def]
        if opts["csv"]:
            raise CommandError(_("A recurring send cannot use --csv: give numbers or groups."))
        try:
            repeat = recurring.check_repeat(
                every=opts["every"],
                on=opts["on"],
                day=opts["day"],
                at=opts["at"],
                until=opts["until"],
                times=opts["times"],
            )
            rec = recurring.create_recurrence(
                author=opts["author"],
                org=org,
                body=opts["text"],
                targets=_targets(opts, org),
                repeat=repeat,
                commercial=opts["commercial"],
                tag=opts["tag"],
                source="cli",
                line=opts["line"] or None,
            )
        except ServiceError as e:
            raise CommandError(f"--{e.field}: {e.message}" if e.field else str(e.message)) from None
        when = timezone.localtime(rec.next_at).strftime("%Y-%m-%d %H:%M")
        self.stdout.write(
            _("Recurring send %(id)d saved; next occurrence: %(when)s.")
            % {"id": rec.id, "when": when}
        )


def _author(username: str | None, org):  # type: ignore[no-untyped-def]
    if not username:
        return None
    user = User.objects.filter(username=username, organisation=org).first()
    if user is None:
        raise CommandError(
            _("--as: no user named %(name)s in %(slug)s.") % {"name": username, "slug": org.slug}
        )
    return user


def _targets(opts, org) -> Targets:  # type: ignore[no-untyped-def]
    return Targets(
        numbers=opts["to"],
        contacts=[directory.lookup_contact(c, org=org).id for c in opts["contact"]],
        groups=[directory.lookup_group(g, org=org).id for g in opts["group"]],
    )


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(imports.max_bytes() + 1)
    except OSError as e:
        raise CommandError(
            _("Cannot read %(file)s: %(error)s") % {"file": path, "error": e.strerror}
        ) from None
    if len(data) > imports.max_bytes():
        raise imports.too_big(len(data))
    return data
