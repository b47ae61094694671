"""`smsdesk org`: the platform administrator's organisations from the command line."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.core.errors import ServiceError
from smsdesk.messaging import lines, quotas
from smsdesk.tenants import organisations


class Command(BaseCommand):
    help = (
        "Organisations (customers of the platform): create, list, suspend, resume, quotas, "
        "retention, "
        "assign a line."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a new organisation (its slug on the last line)")
        create.add_argument("name")
        create.add_argument("--slug", default="", help="its short name (from NAME if absent)")
        create.add_argument("--time-zone", default="", help="e.g. Europe/Paris")
        create.add_argument("--language", default="", help="fr or en")
        sub.add_parser("list", help="every organisation: slug, state, lines, name")
        for name, text in (
            ("suspend", "its users cannot log in, its tokens stop, its messages wait"),
            ("resume", "active again: its waiting messages go out"),
            ("activate", "the same as resume"),
        ):
            action = sub.add_parser(name, help=text)
            action.add_argument("slug", metavar="SLUG")
        quota = sub.add_parser(
            "quota", help="SMS parts it may send per day / month, recipients per day (0: none)"
        )
        quota.add_argument("slug", metavar="SLUG")
        quota.add_argument("--per-day", metavar="N", default=None, help="parts per local day")
        quota.add_argument("--per-month", metavar="N", default=None, help="parts per month")
        quota.add_argument(
            "--recipients-per-day",
            metavar="N",
            default=None,
            help="distinct recipients its sends may reach per local day",
        )
        keep = sub.add_parser(
            "retention",
            help="how long its messages, calls and audit entries are kept, and what then",
        )
        keep.add_argument("slug", metavar="SLUG")
        keep.add_argument(
            "--months", metavar="N", default=None, help="0: the platform's SMSDESK_RETENTION_MONTHS"
        )
        keep.add_argument(
            "--mode", metavar="delete|mask", default=None, help="delete, or blank and mask"
        )
        assign = sub.add_parser("assign-line", help="give a line (a gateway) to an organisation")
        assign.add_argument("slug", metavar="SLUG")
        assign.add_argument("line", metavar="LINE")
        assign.add_argument(
            "--share",
            action="store_true",
            help="share the line with the organisations it has already (not a modem)",
        )
        assign.add_argument(
            "--sender",
            default="",
            metavar="NAME",
            help="with --share: this organisation's sender name(s) or number(s) on the line, "
            "separated by commas (the first sends), e.g. GARAGE",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            getattr(self, "_" + opts["action"].replace("-", "_"))(opts)
        except ServiceError as e:
            raise CommandError(str(e.message), returncode=2) from None

    def _create(self, opts) -> None:  # type: ignore[no-untyped-def]
        org = organisations.create_organisation(
            name=opts["name"],
            slug=opts["slug"],
            time_zone=opts["time_zone"],
            language=opts["language"],
        )
        self.stderr.write(_("Organisation “%(name)s” created.") % {"name": org.name})
        self.stdout.write(org.slug)

    def _list(self, opts) -> None:  # type: ignore[no-untyped-def]
        owners, shared = lines.owners(), lines.shared()
        for org in organisations.organisations():
            mine = ",".join(sorted(organisations.lines_text(org.pk, owners, shared))) or "-"
            state = "active" if org.is_active else "suspended"
            self.stdout.write(f"{org.slug}\t{state}\t{mine}\t{org.name}")

    def _quota(self, opts) -> None:  # type: ignore[no-untyped-def]
        org = organisations.get_organisation(opts["slug"])
        org = organisations.set_quota(
            org,
            per_day=opts["per_day"],
            per_month=opts["per_month"],
            recipients_per_day=opts["recipients_per_day"],
        )
        day, month = quotas.usage(org)
        for use in (day, month, quotas.recipients_usage(org)):
            limit = str(use.limit) if use.limit else "-"
            self.stdout.write(f"{org.slug}\t{use.period}\t{use.used}\t{limit}")

    def _retention(self, opts) -> None:  # type: ignore[no-untyped-def]
        org = organisations.get_organisation(opts["slug"])
        org = organisations.set_retention(org, months=opts["months"], mode=opts["mode"])
        months = org.retention_months or settings.SMSDESK_RETENTION_MONTHS
        self.stdout.write(
            f"{org.slug}\t{org.retention_months}\t{months or '-'}\t{org.retention_mode}"
        )

    def _suspend(self, opts) -> None:  # type: ignore[no-untyped-def]
        org = organisations.set_active(organisations.get_organisation(opts["slug"]), active=False)
        self.stdout.write(_("%(slug)s is suspended.") % {"slug": org.slug})

    def _resume(self, opts) -> None:  # type: ignore[no-untyped-def]
        org = organisations.set_active(organisations.get_organisation(opts["slug"]), active=True)
        self.stdout.write(_("%(slug)s is active.") % {"slug": org.slug})

    _activate = _resume

    def _assign_line(self, opts) -> None:  # type: ignore[no-untyped-def]
        org = organisations.get_organisation(opts["slug"])
        if opts["sender"] and not opts["share"]:
            raise CommandError(_("--sender goes with --share."))
        organisations.assign_line(org, opts["line"], share=opts["share"], sender=opts["sender"])
        if opts["share"]:
            self.stdout.write(
                _("The line %(line)s is shared; %(slug)s sends with %(sender)s.")
                % {"line": opts["line"], "slug": org.slug, "sender": opts["sender"]}
            )
            return
        self.stdout.write(
            _("The line %(line)s belongs to %(slug)s.") % {"line": opts["line"], "slug": org.slug}
        )
