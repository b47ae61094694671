from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts import services
from smsdesk.accounts.models import User
from smsdesk.core import text


class Command(BaseCommand):
    help = "Create an API token for a user. The token alone is printed on the last line."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            user = User.objects.get(username=text.check_typed(opts["username"], field="username"))
        except (User.DoesNotExist, text.ControlCharacter):
            raise CommandError(
                _("No user named “%(name)s”.") % {"name": opts["username"]}
            ) from None
        try:
            _token, raw = services.create_token(user=user, name=opts["name"] or "cli")
        except services.AccountError as e:
            raise CommandError(str(e.message)) from None
        self.stderr.write(
            _("API token for “%(name)s” (shown once, keep it safe):") % {"name": user.username}
        )
        self.stdout.write(raw)
