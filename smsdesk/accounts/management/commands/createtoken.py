from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts import services
from smsdesk.accounts.models import User


class Command(BaseCommand):
    help = "Create an API token for a user. The token alone is printed on the last line."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            user = User.objects.get(username=opts["username"])
        except User.DoesNotExist:
            raise CommandError(
                _("No user named “%(name)s”.") % {"name": opts["username"]}
            ) from None
        _token, raw = services.create_token(user=user, name=opts["name"] or "cli")
        self.stderr.write(
            _("API token for “%(name)s” (shown once, keep it safe):") % {"name": user.username}
        )
        self.stdout.write(raw)
