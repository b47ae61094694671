from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts import services
from smsdesk.accounts.models import Scope, User
from smsdesk.core import text


class Command(BaseCommand):
    help = "Create an API token for a user. The token alone is printed on the last line."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            metavar="SCOPE",
            help="what the token may do (repeatable): "
            + ", ".join(Scope.values)
            + "; none given: every scope of the user's role",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="N",
            help="the token stops working N days from now (default: never)",
        )

        parser.add_argument(
            "--recipients-per-day",
            default=None,
            metavar="N",
            help="the distinct recipients its sends may reach per local day (default: no "
            "limit of its own; the organisation's still applies)",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            user = User.objects.get(username=text.check_typed(opts["username"], field="username"))
        except (User.DoesNotExist, text.ControlCharacter):
            raise CommandError(
                _("No user named “%(name)s”.") % {"name": opts["username"]}
            ) from None
        try:
            token, raw = services.create_token(
                user=user,
                name=opts["name"] or "cli",
                scopes=opts["scopes"],
                expires_days=opts["expires_days"],
                recipients_per_day=opts["recipients_per_day"],
            )
        except services.AccountError as e:
            raise CommandError(str(e.message)) from None
        self.stderr.write(
            _("API token for “%(name)s” (shown once, keep it safe):") % {"name": user.username}
        )
        self.stderr.write(_("Scopes: %(scopes)s") % {"scopes": " ".join(sorted(token.granted()))})
        if token.expires_at is not None:
            self.stderr.write(_("Expires: %(at)s") % {"at": token.expires_at.isoformat()})
        if token.recipients_day:
            self.stderr.write(_("Recipients per day: %(n)d") % {"n": token.recipients_day})
        self.stdout.write(raw)
