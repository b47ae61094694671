from django.core.management.base import BaseCommand, CommandError

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
            raise CommandError(f"No user named '{opts['username']}'.") from None
        _token, raw = services.create_token(user=user, name=opts["name"] or "cli")
        self.stderr.write(f"API token for '{user.username}' (shown once, keep it safe):")
        self.stdout.write(raw)
