from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.core import text as control
from smsdesk.gateways import simulator
from smsdesk.gateways.base import GatewayError
from smsdesk.messaging import gateway_state
from smsdesk.worker.gateway_store import DatabaseGatewayStore

MAX_OUTAGE = 24 * 3600


class Command(BaseCommand):
    help = (
        "Act on the simulated network: a phone texts (inbound) or calls (call) the platform, "
        "or the network cannot be reached for a while (outage). The running worker (serve or "
        "worker) picks it up, even from another process."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="what", required=True)
        inbound = sub.add_parser("inbound", help="an SMS from a phone to the platform")
        inbound.add_argument("--from", dest="sender", required=True, metavar="NUMBER")
        inbound.add_argument("--text", required=True)
        inbound.add_argument(
            "--to",
            default="",
            metavar="SENDER",
            help="the sender name or number it is addressed to (a line shared by several "
            "organisations: whose it is)",
        )
        inbound.add_argument("--gateway", help="simulator gateway name (default: the first)")
        call = sub.add_parser("call", help="a voice call from a phone to the platform's SIM")
        call.add_argument("--from", dest="sender", required=True, metavar="NUMBER")
        call.add_argument("--gateway", help="simulator gateway name (default: the first)")
        outage = sub.add_parser(
            "outage",
            help="the network cannot be reached for N seconds: nothing is handed over, "
            "messages wait (0 ends an outage)",
        )
        outage.add_argument("--seconds", type=float, required=True, metavar="N")
        outage.add_argument("--gateway", help="simulator gateway name (default: the first)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            specs = gateway_state.configured()
        except GatewayError as e:
            raise CommandError(str(e)) from None
        simulators = [s.name for s in specs if s.kind == simulator.SimulatorGateway.kind]
        if not simulators:
            raise CommandError(_("No simulator gateway is configured (SMSDESK_GATEWAYS)."))
        gateway = opts.get("gateway") or simulators[0]
        if gateway not in simulators:
            raise CommandError(
                _("“%(name)s” is not a simulator gateway; these are: %(list)s")
                % {"name": gateway, "list": ", ".join(simulators)}
            )
        store = DatabaseGatewayStore(gateway)
        if opts["what"] == "outage":
            self.outage(store, gateway, opts["seconds"])
            return
        sender = opts["sender"].strip()
        if not sender or len(sender) > 32 or control.has_controls(sender):
            raise CommandError(_("--from: give the phone number of the sender."))
        text = opts.get("text", "")
        if opts["what"] == "inbound" and len(text) > 10_000:
            raise CommandError(_("--text: at most 10,000 characters."))
        if control.has_controls(text, multiline=True):
            raise CommandError(_("--text: remove the invisible control characters."))
        if opts["what"] == "call":
            store.put([simulator.injected_call(sender)])
        else:
            to = (opts.get("to") or "").strip()
            if len(to) > 32 or control.has_controls(to):
                raise CommandError(_("--to: a sender name or number, at most 32 characters."))
            store.put([simulator.injected_sms(sender, text, to)])
        self.stdout.write(
            _("Injected into “%(name)s”: the running worker records it within a second.")
            % {"name": gateway}
        )

    def outage(self, store: DatabaseGatewayStore, gateway: str, seconds: float) -> None:
        if not 0 <= seconds <= MAX_OUTAGE:
            raise CommandError(_("--seconds: a number from 0 to 86400."))
        # A new outage replaces the one under way (0 ends it).
        store.delete([i.id for i in store.items((simulator.OUTAGE,)) if i.id is not None])
        if seconds == 0:
            self.stdout.write(_("“%(name)s” can be reached again.") % {"name": gateway})
            return
        store.put([simulator.outage(seconds)])
        self.stdout.write(
            _(
                "“%(name)s” cannot be reached for %(seconds)s s: messages wait and go out "
                "when it is back."
            )
            % {"name": gateway, "seconds": f"{seconds:g}"}
        )
