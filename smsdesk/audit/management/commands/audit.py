import json
import re
from datetime import datetime, time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from smsdesk.audit import services
from smsdesk.audit.models import Action
from smsdesk.core import tenancy


def _moment(raw: str) -> datetime:
    try:
        moment = parse_datetime(raw)
        day = parse_date(raw) if moment is None else None
    except ValueError:  # well formed, but no such day (2020-13-45)
        moment = day = None
    if moment is None:
        if day is None:
            raise CommandError(
                _("%(value)s is not a date (YYYY-MM-DD or ISO 8601).") % {"value": raw}
            )
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "The audit log (Journal): who did what, when and from where."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="what", required=True)
        ls = sub.add_parser("list", help="entries, newest first, one per line (tab separated)")
        ls.add_argument("--since", help="from this date or moment (YYYY-MM-DD, ISO 8601)")
        ls.add_argument("--action", choices=Action.values, help="only this action")
        ls.add_argument("--actor", default="", help="only this user")
        ls.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
        ls.add_argument("--json", action="store_true", help="one JSON object per line")
        ls.add_argument(
            "--org",
            metavar="SLUG",
            default="",
            help="only this organisation's entries (without it: every organisation's and the "
            "platform's own, as the provider reads them)",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        since = _moment(opts["since"]) if opts["since"] else None
        org = None
        if opts.get("org"):
            # by the app registry: this app imports nothing above core
            organisation = apps.get_model(tenancy.ORGANISATION_MODEL)
            slug = str(opts["org"])[:50]
            # a short name is [a-z0-9-]: anything else (a NUL byte PostgreSQL refuses) is none
            found = re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug)
            org = organisation.objects.filter(slug=slug).first() if found else None
            if org is None:
                raise CommandError(
                    _("No organisation “%(slug)s”.")
                    % {"slug": slug.encode("unicode_escape").decode()},
                    returncode=2,
                )
        entries = services.entries(
            org=org, since=since, action=opts["action"] or "", actor=opts["actor"]
        ).order_by("-at", "-id")[: max(1, opts["limit"])]
        for e in entries:
            if opts["json"]:
                self.stdout.write(
                    json.dumps(
                        {
                            "id": e.id,
                            "at": e.at.isoformat(),
                            "actor": e.actor_name or None,
                            "via": e.via,
                            "action": e.action,
                            "target": e.target,
                            "target_type": e.target_type,
                            "target_id": e.target_id,
                            "before": e.before,
                            "after": e.after,
                            "ip": e.ip,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                self.stdout.write(
                    "\t".join(
                        [
                            timezone.localtime(e.at).isoformat(timespec="seconds"),
                            e.actor_name or "-",
                            e.via,
                            e.action,
                            e.target or "-",
                            e.ip or "-",
                        ]
                    )
                )
