import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts import services
from smsdesk.accounts.models import User


class Command(BaseCommand):
    help = "Create a user account. Without --password-stdin a password is generated and printed."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--admin", action="store_true", help="give the administrator role")
        parser.add_argument("--email", default="", help="the address the user's mails go to")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input (first line)",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            generated = False
        else:
            password = services.generate_password()
            generated = True
        role = User.Role.ADMIN if opts["admin"] else User.Role.OPERATOR
        try:
            user = services.create_user(
                username=opts["username"], password=password, role=role, email=opts["email"]
            )
        except services.AccountError as e:
            raise CommandError(str(e.message)) from None
        self.stdout.write(
            _("Created the %(role)s account “%(name)s”.")
            % {"role": user.get_role_display().lower(), "name": user.username}
        )
        if generated:
            self.stdout.write(_("Password: %(password)s") % {"password": password})
