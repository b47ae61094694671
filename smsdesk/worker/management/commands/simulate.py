from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.gateways.registry import parse_specs
from smsdesk.worker.models import SimulatedEvent


class Command(BaseCommand):
    help = (
        "Inject into the simulated network, as if a phone had texted (inbound) or called "
        "(call) the platform. The running worker (serve or worker) picks it up."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="what", required=True)
        inbound = sub.add_parser("inbound", help="an SMS from a phone to the platform")
        inbound.add_argument("--from", dest="sender", required=True, metavar="NUMBER")
        inbound.add_argument("--text", required=True)
        inbound.add_argument("--gateway", help="simulator gateway name (default: the first)")
        call = sub.add_parser("call", help="a voice call from a phone to the platform's SIM")
        call.add_argument("--from", dest="sender", required=True, metavar="NUMBER")
        call.add_argument("--gateway", help="simulator gateway name (default: the first)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        simulators = [
            s.name for s in parse_specs(settings.SMSDESK_GATEWAYS) if s.kind == "simulator"
        ]
        if not simulators:
            raise CommandError(_("No simulator gateway is configured (SMSDESK_GATEWAYS)."))
        gateway = opts.get("gateway") or simulators[0]
        if gateway not in simulators:
            raise CommandError(
                _("“%(name)s” is not a simulator gateway; these are: %(list)s")
                % {"name": gateway, "list": ", ".join(simulators)}
            )
        sender = opts["sender"].strip()
        if not sender or len(sender) > 32:
            raise CommandError(_("--from: give the phone number of the sender."))
        text = opts.get("text", "")
        if opts["what"] == "inbound" and len(text) > 10_000:
            raise CommandError(_("--text: at most 10,000 characters."))
        kind = (
            SimulatedEvent.Kind.CALL if opts["what"] == "call" else SimulatedEvent.Kind.INBOUND_SMS
        )
        SimulatedEvent.objects.create(gateway=gateway, kind=kind, sender=sender, text=text)
        self.stdout.write(
            _("Injected into “%(name)s”: the running worker records it within a second.")
            % {"name": gateway}
        )
