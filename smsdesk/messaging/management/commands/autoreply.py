from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.core.errors import ServiceError
from smsdesk.directory import services as directory
from smsdesk.messaging import autoreplies
from smsdesk.messaging.models import AutoReply


class Command(BaseCommand):
    help = "Keyword auto-replies: answer an SMS that matches a keyword (after STOP and START)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True, metavar="add|list|delete")
        add = sub.add_parser("add", help="add a rule, tried after the existing ones")
        add.add_argument("keyword", help="the keyword; case and accents are ignored")
        add.add_argument("--text", required=True, help="the answer (fields need a default)")
        add.add_argument(
            "--match",
            choices=AutoReply.Match.values,
            default="whole",
            help="whole: the message is the keyword (default); word: its first word; "
            "contains: anywhere in it",
        )
        add.add_argument(
            "--delay",
            type=int,
            default=60,
            metavar="MINUTES",
            help="at most one answer per number in this time (default 60)",
        )
        add.add_argument("--gateway", default="", metavar="NAME", help="only on this line")
        add.add_argument("--group", default="", metavar="NAME", help="add the sender to it")
        listing = sub.add_parser("list", help="the rules, in the order they are tried")
        delete = sub.add_parser("delete", help="delete a rule by its id")
        delete.add_argument("id", type=int)
        for each in (add, listing, delete):
            add_org_argument(each)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        org = organisation_from(opts)
        try:
            if opts["action"] == "add":
                group = directory.lookup_group(opts["group"], org=org).id if opts["group"] else None
                rule = autoreplies.create_rule(
                    by=None,
                    keyword=opts["keyword"],
                    text=opts["text"],
                    match=opts["match"],
                    delay_minutes=opts["delay"],
                    gateway=opts["gateway"],
                    group=group,
                    org=org,
                )
                self.stdout.write(
                    _("Auto-reply %(id)d saved: « %(keyword)s » (%(match)s).")
                    % {"id": rule.id, "keyword": rule.keyword, "match": rule.match}
                )
            elif opts["action"] == "list":
                for r in autoreplies.list_rules(org=org):
                    self.stdout.write(
                        f"{r.id}\t{r.keyword}\t{r.match}\t{r.delay_minutes}\t{r.gateway or '*'}"
                        f"\t{r.text}"
                    )
            else:
                autoreplies.delete_rule(opts["id"], by=None, org=org)
        except ServiceError as e:
            raise CommandError(f"{e.field}: {e.message}" if e.field else str(e.message)) from None
