from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts import services
from smsdesk.accounts.models import User
from smsdesk.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Change a user's email address, email copies of received SMS, signature, two-factor "
        "rule or SMS quota."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        s = sub.add_parser("set", help="change a user's settings")
        s.add_argument("username")
        s.add_argument("--email", help="the address the user's mails go to ('' : none)")
        s.add_argument(
            "--email-copies",
            choices=User.EmailCopies.values,
            help="copies of received SMS by email: all, mine (conversations they took part "
            "in) or none",
        )
        summary = s.add_mutually_exclusive_group()
        summary.add_argument(
            "--email-summary",
            action="store_true",
            default=None,
            help="mail this user yesterday's figures each morning",
        )
        summary.add_argument(
            "--no-email-summary", dest="email_summary", action="store_false", help="stop it"
        )
        s.add_argument(
            "--signature",
            help="the line put under each New SMS and reply the user writes ('' : none)",
        )
        two = s.add_mutually_exclusive_group()
        two.add_argument(
            "--require-2fa",
            action="store_true",
            default=None,
            help="ask this user for a second factor at each login",
        )
        two.add_argument(
            "--no-require-2fa", dest="require_2fa", action="store_false", help="stop asking"
        )

        s.add_argument(
            "--quota-day",
            metavar="N",
            help="SMS parts this user may send per day (0: no limit of their own)",
        )
        s.add_argument(
            "--quota-month",
            metavar="N",
            help="SMS parts this user may send per month (0: no limit of their own)",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(_("No user named %(name)s.") % {"name": opts["username"]})
        try:
            if opts["email"] is not None:
                services.set_email(user=user, email=opts["email"])
            if opts["email_copies"] is not None:
                services.set_email_copies(user=user, copies=opts["email_copies"])
            if opts["email_summary"] is not None:
                services.set_email_summary(user=user, on=opts["email_summary"])
            if opts["signature"] is not None:
                services.set_signature(user=user, signature=opts["signature"])
            if opts["require_2fa"] is not None:
                services.set_require_2fa(user=user, required=opts["require_2fa"])
            if opts["quota_day"] is not None or opts["quota_month"] is not None:
                services.set_user_quota(
                    by=None, user=user, per_day=opts["quota_day"], per_month=opts["quota_month"]
                )
        except ServiceError as e:
            raise CommandError(str(e.message)) from None
        self.stdout.write(
            _("%(name)s: email %(email)s, copies %(copies)s, two-factor login %(two)s.")
            % {
                "name": user.username,
                "email": user.email or "—",
                "copies": user.email_copies,
                "two": _("required") if user.require_2fa else _("optional"),
            }
        )
        if user.quota_day or user.quota_month:
            self.stdout.write(
                _("Quota of %(name)s: %(day)s SMS parts a day, %(month)s a month.")
                % {
                    "name": user.username,
                    "day": user.quota_day or _("no limit"),
                    "month": user.quota_month or _("no limit"),
                }
            )
