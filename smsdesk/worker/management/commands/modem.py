from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.gateways.modem.probe import probe


class Command(BaseCommand):
    help = (
        "Check a GSM modem before using it: maker, model, IMEI, SIM and PIN state, operator, "
        "signal, SMSC, storage, PDU mode and status reports, with a diagnosis of what is wrong."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="what", required=True)
        check = sub.add_parser("probe", help="what a modem on DEVICE can do, and what is wrong")
        check.add_argument("device", metavar="DEVICE", help="e.g. /dev/serial/by-id/usb-...")
        check.add_argument("--pin", default="", help="the SIM's PIN, sent at most once")
        check.add_argument("--baud", type=int, default=115200)
        check.add_argument("--timeout", type=float, default=3.0, help=_("seconds per command"))

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        pin = opts["pin"].strip()
        if pin and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise CommandError(_("--pin: 4 to 8 digits."))
        if not 300 <= opts["baud"] <= 4_000_000:
            raise CommandError(_("--baud: a serial speed such as 115200."))
        report = probe(opts["device"], pin=pin, baud=opts["baud"], timeout=opts["timeout"])
        self.stdout.write(report.text(_), ending="")
        if not report.ok:
            raise CommandError(_("the modem is not ready (see the diagnosis above)."))
