"""`smsdesk pdu encode|decode`: the PDU codec from the shell, to check what a modem is given
or what it listed (AT+CMGL, +CMT, +CDS). Thin: smsdesk.sms.pdu does the work."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from smsdesk.sms import pdu


class Command(BaseCommand):
    help = (
        "Encode an SMS into the PDUs given to a modem, or decode a PDU a modem gave. "
        "encode: one PDU a line, in hex, SMSC part first, as written after AT+CMGS. "
        "decode: the fields as JSON."
    )
    requires_system_checks: list[str] = []  # no database, no gateway: works on any set-up

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="encode|decode")
        encode = actions.add_parser(
            "encode", help="the SMS-SUBMIT PDU of each part, one a line, in hex"
        )
        encode.add_argument(
            "--to", required=True, metavar="NUMBER", help="+33612345678, or national digits"
        )
        encode.add_argument("--text", required=True, help="the text of the SMS")
        encode.add_argument(
            "--report", action="store_true", help="ask the network for a delivery report"
        )
        encode.add_argument(
            "--smsc",
            default="",
            metavar="NUMBER",
            help="the SMS centre; left out: 00 (the modem uses its own)",
        )
        decode = actions.add_parser("decode", help="the fields of a PDU in hex, as JSON")
        decode.add_argument(
            "hex", nargs="+", metavar="HEX", help="the PDU in hex, as a modem lists it"
        )
        decode.add_argument(
            "--outgoing",
            action="store_true",
            help="an SMS-SUBMIT (sent); else an SMS-DELIVER or a status report (received)",
        )
        decode.add_argument(
            "--no-smsc",
            action="store_true",
            help="the PDU does not start with the SMSC address",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "encode":
            try:
                parts = pdu.encode_submit(
                    opts["to"], opts["text"], smsc=opts["smsc"], request_report=opts["report"]
                )
            except pdu.PduError as e:
                raise CommandError(
                    _("cannot encode this SMS: %(reason)s") % {"reason": e}
                ) from None
            for part in parts:
                self.stdout.write(part.hex)
            return
        try:
            decoded = pdu.decode(
                "".join(opts["hex"]),  # pasted with spaces between octets: one PDU all the same
                smsc_present=not opts["no_smsc"],
                outgoing=opts["outgoing"],
            )
        except pdu.PduError as e:
            message = _("cannot decode this PDU: %(reason)s") % {"reason": e}
            raise CommandError(message) from None
        self.stdout.write(json.dumps(as_json(decoded), ensure_ascii=False, indent=2))


def as_json(decoded: pdu.Deliver | pdu.Submit | pdu.StatusReportPdu) -> dict[str, Any]:
    kind = {
        pdu.Deliver: "SMS-DELIVER",
        pdu.Submit: "SMS-SUBMIT",
        pdu.StatusReportPdu: "SMS-STATUS-REPORT",
    }[type(decoded)]
    fields: dict[str, Any] = {"type": kind}
    for field in dataclasses.fields(decoded):
        fields[field.name] = _plain(getattr(decoded, field.name))
    if isinstance(decoded, pdu.StatusReportPdu):
        fields["state"] = (
            "delivered" if decoded.delivered else "pending" if decoded.pending else "failed"
        )
        fields["reason"] = decoded.reason
    return fields


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())  # validity, in seconds
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, pdu.Concat):
        return dataclasses.asdict(value)
    return value
