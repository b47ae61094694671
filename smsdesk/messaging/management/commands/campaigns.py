from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from smsdesk.accounts.cli import add_org_argument, organisation_from
from smsdesk.core.errors import ServiceError
from smsdesk.messaging import campaigns

LIST_LIMIT = 1000


class Command(BaseCommand):
    help = "List campaigns, show one with its counts per state, cancel or send again one."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="campaigns, newest first")
        listing.add_argument("--tag", default="", help="only this tag")
        listing.add_argument("--limit", type=int, default=50, help="at most this many (50)")
        add_org_argument(listing)
        for name, text in (
            ("show", "one campaign: its text and counts per state"),
            ("cancel", "cancel what has not gone out"),
            (
                "retry",
                "send again the failed and unknown messages (unknown ones may have "
                "arrived: the person may get the SMS twice)",
            ),
        ):
            action = actions.add_parser(name, help=text)
            action.add_argument("campaign_id", type=int, metavar="ID")
            add_org_argument(action)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        opts["organisation"] = organisation_from(opts)
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except ServiceError as e:
            raise CommandError(str(e.message)) from None

    def _list(self, opts) -> None:  # type: ignore[no-untyped-def]
        limit = max(1, min(opts["limit"], LIST_LIMIT))
        found = campaigns.campaign_list(org=opts["organisation"], tag=opts["tag"].strip())
        shown = list(found[:limit])
        counts = campaigns.counts(c.id for c in shown)
        for c in shown:
            n = counts[c.id]
            self.stdout.write(
                f"{c.id}\t{_when(c.created_at)}\t{c.tag or '-'}\t{c.recipient_count}\t"
                f"{n.percent_done}%\t{c.body[:60]!r}"
            )

    def _show(self, opts) -> None:  # type: ignore[no-untyped-def]
        c = campaigns.get_campaign(_id(opts), org=opts["organisation"])
        n = campaigns.counts([c.id])[c.id]
        self.stdout.write(f"id\t{c.id}")
        self.stdout.write(f"created\t{_when(c.created_at)}")
        self.stdout.write(f"send_at\t{_when(c.send_at)}")
        self.stdout.write(f"author\t{c.author.username if c.author else '-'}")
        self.stdout.write(f"tag\t{c.tag or '-'}")
        self.stdout.write(f"recipients\t{c.recipient_count}")
        for name, *_rest in campaigns.BUCKETS:
            self.stdout.write(f"{name}\t{n[name]}")
        self.stdout.write(f"text\t{c.body!r}")

    def _cancel(self, opts) -> None:  # type: ignore[no-untyped-def]
        done = campaigns.cancel_campaign(_id(opts), org=opts["organisation"])
        self.stdout.write(
            ngettext(
                "%(count)d message cancelled: it will not be sent.",
                "%(count)d messages cancelled: they will not be sent.",
                done,
            )
            % {"count": done}
        )

    def _retry(self, opts) -> None:  # type: ignore[no-untyped-def]
        campaign_id = campaigns.get_campaign(_id(opts), org=opts["organisation"]).id
        if warning := campaigns.retry_warning(campaigns.counts([campaign_id])[campaign_id]):
            self.stderr.write(warning)
        done = campaigns.retry_campaign(campaign_id, org=opts["organisation"])
        self.stdout.write(
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", done)
            % {"count": done}
        )


def _id(opts) -> int:  # type: ignore[no-untyped-def]
    if not 1 <= opts["campaign_id"] <= 2**31 - 1:
        raise CommandError(_("No campaign with id %(id)s.") % {"id": opts["campaign_id"]})
    return opts["campaign_id"]


def _when(value) -> str:  # type: ignore[no-untyped-def]
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
