"""`smsdesk line list|pause NAME|resume NAME`: the lines' routing and use, and pausing or
resuming a line from the command line (what the Passerelles page does; messaging/routing.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.core.errors import ServiceError
from smsdesk.messaging import routing


class Command(BaseCommand):
    help = "The lines: their priority, limits and use (list); pause or resume one."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|pause|resume")
        actions.add_parser("list", help="each line: priority, failover, limits and use, state")
        for action, text in (
            (
                "pause",
                "the line sends nothing until resumed (its waiting SMS move if failover is on)",
            ),
            ("resume", "the line sends again"),
        ):
            sub = actions.add_parser(action, help=text)
            sub.add_argument("name", metavar="NAME", help="the line's name (SMSDESK_GATEWAYS)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        action = opts["action"]
        if action == "list":
            return self._list()
        try:
            if action == "pause":
                done = routing.pause(opts["name"], by=None)
                text = (
                    _("Line %(name)s paused.") if done else _("Line %(name)s was paused already.")
                )
            else:
                done = routing.resume(opts["name"], by=None)
                text = _("Line %(name)s resumed.") if done else _("Line %(name)s was not paused.")
        except ServiceError as e:
            raise CommandError(str(e.message)) from None
        self.stdout.write(text % {"name": opts["name"]})

    def _list(self) -> None:
        for view in routing.pool():
            r = view.line.routing
            limits = (
                ", ".join(f"{period.value} {used}/{cap}" for period, used, cap in view.limits)
                or "-"
            )
            state = "paused" if view.paused else ("up" if view.line.up else "down")
            if view.over:
                state += " (over its limit)"
            self.stdout.write(
                f"{view.name}\tpriority={r.priority}\tfailover={'on' if r.failover else 'off'}"
                f"\tlimits: {limits}\t{state}"
                + (f"\t{routing.pause_text(view.state)}" if view.paused and view.state else "")
            )
