import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts import services
from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.accounts.models import User


class Command(BaseCommand):
    help = "Create a user account. Without --password-stdin a password is generated and printed."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        roles = parser.add_mutually_exclusive_group()
        roles.add_argument("--admin", action="store_true", help="give the administrator role")
        roles.add_argument(
            "--read-only",
            action="store_true",
            help="sees the organisation's data, sends nothing, changes nothing",
        )
        roles.add_argument(
            "--platform-admin",
            action="store_true",
            help="the platform administrator (the provider): belongs to no organisation",
        )
        add_org_argument(parser)
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
        if opts["platform_admin"] and opts["org"]:
            raise CommandError(
                _("--platform-admin: a platform administrator has no organisation (no --org)"),
                returncode=2,
            )
        org = None if opts["platform_admin"] else organisation_from(opts)
        role = User.Role.OPERATOR
        if opts["admin"]:
            role = User.Role.ADMIN
        elif opts["read_only"]:
            role = User.Role.READ_ONLY
        try:
            user = services.create_user(
                username=opts["username"],
                password=password,
                role=role,
                org=org,
                platform=opts["platform_admin"],
                email=opts["email"],
            )
        except services.AccountError as e:
            raise CommandError(str(e.message)) from None
        self.stdout.write(
            _("Created the %(role)s account “%(name)s”.")
            % {"role": user.get_role_display().lower(), "name": user.username}
        )
        if generated:
            self.stdout.write(_("Password: %(password)s") % {"password": password})
