from typing import Any

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
        sub = parser.add_subparsers(dest="action", required=True, metavar="add|set|list|delete")
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
        add.add_argument("--tag", default="", help="tag the sender's discussion (one word)")
        change = sub.add_parser("set", help="change a rule in place: only the options given")
        change.add_argument("id", type=int)
        change.add_argument("--keyword")
        change.add_argument("--text")
        change.add_argument("--match", choices=AutoReply.Match.values)
        change.add_argument("--delay", type=int, metavar="MINUTES")
        change.add_argument("--gateway", metavar="NAME", help='only on this line ("": every)')
        change.add_argument("--group", metavar="NAME", help='add the sender to it ("": none)')
        change.add_argument("--tag", help='tag the sender\'s discussion ("": none)')
        state = change.add_mutually_exclusive_group()
        state.add_argument("--active", dest="active", action="store_true", default=None)
        state.add_argument("--paused", dest="active", action="store_false")
        listing = sub.add_parser("list", help="the rules, in the order they are tried")
        delete = sub.add_parser("delete", help="delete a rule by its id")
        delete.add_argument("id", type=int)
        for each in (add, change, listing, delete):
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
                    tag=opts["tag"],
                    org=org,
                )
                self.stdout.write(
                    _("Auto-reply %(id)d saved: « %(keyword)s » (%(match)s).")
                    % {"id": rule.id, "keyword": rule.keyword, "match": rule.match}
                )
            elif opts["action"] == "set":
                rule = autoreplies.update_rule(opts["id"], by=None, org=org, **_changes(opts, org))
                self.stdout.write(
                    _("Auto-reply %(id)d saved: « %(keyword)s » (%(match)s).")
                    % {"id": rule.id, "keyword": rule.keyword, "match": rule.match}
                )
            elif opts["action"] == "list":
                for r in autoreplies.list_rules(org=org):
                    self.stdout.write(
                        f"{r.id}\t{r.keyword}\t{r.match}\t{r.delay_minutes}\t{r.gateway or '*'}"
                        f"\t{r.tag or '-'}\t{'on' if r.active else 'paused'}\t{r.text}"
                    )
            else:
                autoreplies.delete_rule(opts["id"], by=None, org=org)
        except ServiceError as e:
            raise CommandError(f"{e.field}: {e.message}" if e.field else str(e.message)) from None


def _changes(opts: dict, org: Any) -> dict[str, Any]:
    """The options given to `set`, as update_rule's keywords (a group by its name)."""
    changes: dict[str, Any] = {
        name: opts[option]
        for name, option in (
            ("keyword", "keyword"),
            ("text", "text"),
            ("match", "match"),
            ("delay_minutes", "delay"),
            ("gateway", "gateway"),
            ("tag", "tag"),
            ("active", "active"),
        )
        if opts[option] is not None
    }
    if opts["group"] is not None:
        group = opts["group"]
        changes["group"] = directory.lookup_group(group, org=org).id if group else None
    if not changes:
        raise CommandError(_("Say what to change: --keyword, --text, --match, --delay, ..."))
    return changes
