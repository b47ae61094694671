"""SMPP 3.4 PDUs: what the session sends and reads, on top of smpp34's codec.

smpp34 (Rust) encodes `submit_sm` and decodes `deliver_sm`, the two PDUs of every message
and receipt; the session PDUs (binds, enquire_link, unbind, the responses) are a 16-octet
header and at most three C strings, packed here with `struct`. No I/O, no Django.

Texts: GSM-7 one septet per octet (data_coding 0, the SMSC's default alphabet), Latin-1
(data_coding 3) when the line says so, UCS-2 big-endian (data_coding 8) for anything else.
A long text goes in parts with a concatenation UDH (esm_class 0x40), or whole in the
`message_payload` TLV, as the line is configured.
"""

from __future__ import annotations

import enum
import itertools
import re
import struct
from dataclasses import dataclass

import smpp34

from smsdesk.sms import gsm7

HEADER = struct.Struct(">IIII")
# Optional parameter tags (SMPP 3.4, 5.3.2): typed here, smpp34's stubs do not list them.
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_DEST_ADDR_SUBUNIT = 0x0005  # 1: MS display, a flash SMS
MAX_PDU = 64 * 1024  # a PDU longer than this is a broken stream, not a message


class Cmd(enum.IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


# command_status values smsdesk treats specially, and the words shown for them.
ESME_ROK = 0x00
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
THROTTLING = frozenset({ESME_RMSGQFUL, ESME_RTHROTTLED})
STATUS_WORDS = {
    0x01: "message length is invalid (ESME_RINVMSGLEN)",
    0x02: "command length is invalid (ESME_RINVCMDLEN)",
    0x03: "command not supported (ESME_RINVCMDID)",
    0x04: "wrong bind state for this command (ESME_RINVBNDSTS)",
    0x05: "already bound (ESME_RALYBND)",
    0x08: "system error at the SMSC (ESME_RSYSERR)",
    0x0A: "source address (sender) refused (ESME_RINVSRCADR)",
    0x0B: "destination number refused (ESME_RINVDSTADR)",
    0x0C: "message id invalid (ESME_RINVMSGID)",
    0x0D: "bind failed (ESME_RBINDFAIL)",
    0x0E: "wrong password (ESME_RINVPASWD)",
    0x0F: "unknown system_id (ESME_RINVSYSID)",
    0x14: "message queue full (ESME_RMSGQFUL)",
    0x33: "no route to this destination (ESME_RINVNUMDESTS)",
    0x45: "submit failed (ESME_RSUBMITFAIL)",
    0x48: "source address TON refused (ESME_RINVSRCTON)",
    0x49: "source address NPI refused (ESME_RINVSRCNPI)",
    0x50: "destination TON refused (ESME_RINVDSTTON)",
    0x51: "destination NPI refused (ESME_RINVDSTNPI)",
    0x53: "system_type refused (ESME_RINVSYSTYP)",
    0x58: "throttled (ESME_RTHROTTLED)",
    0x61: "schedule time invalid (ESME_RINVSCHED)",
    0x62: "validity period invalid (ESME_RINVEXPIRY)",
    0x64: "temporary error at the SMSC (ESME_RX_T_APPN)",
    0x65: "permanent error at the SMSC (ESME_RX_P_APPN)",
    0x66: "rejected by the SMSC (ESME_RX_R_APPN)",
    0xFF: "unknown error at the SMSC (ESME_RUNKNOWNERR)",
}
# Binds refused for a reason that trying again will not fix: the configuration is wrong.
BIND_CONFIG_ERRORS = frozenset({0x0E, 0x0F, 0x53, 0x0A})
# submit_sm refusals that a later try may get through.
TEMPORARY = frozenset({0x08, 0x14, 0x58, 0x64, 0xFF, 0x45})


def status_words(status: int) -> str:
    return STATUS_WORDS.get(status, f"SMSC error 0x{status:08X}")


@dataclass(frozen=True, slots=True)
class Header:
    length: int
    command: int
    status: int
    sequence: int


def header(data: bytes) -> Header:
    return Header(*HEADER.unpack_from(data))


def _c(text: str) -> bytes:
    return text.encode("latin-1") + b"\0"


def session_pdu(command: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), command, status, sequence) + body


def bind(
    command: Cmd,
    sequence: int,
    *,
    system_id: str,
    password: str,
    system_type: str,
    ton: int = 0,
    npi: int = 0,
    address_range: str = "",
) -> bytes:
    body = (
        _c(system_id) + _c(password) + _c(system_type) + bytes((0x34, ton, npi)) + _c(address_range)
    )
    return session_pdu(command, sequence, body)


def c_string(body: bytes, start: int = 0) -> str:
    """The C string at `start` of a body (lenient: no NUL reads to the end)."""
    end = body.find(b"\0", start)
    return body[start : end if end >= 0 else len(body)].decode("latin-1")


# --- texts ------------------------------------------------------------------------------

GSM7, LATIN1, UCS2 = 0x00, 0x03, 0x08
_concat_refs = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Encoded:
    data_coding: int
    parts: tuple[bytes, ...]  # short_message of each part (UDH included when several)
    payload: bytes = b""  # the whole text, when sent in message_payload


def encode_text(text: str, *, latin1: bool = False, long: str = "udh") -> Encoded:
    """The data coding and the short_message of each part (or the message_payload)."""
    septets = None if latin1 else gsm7.to_septets(text)
    data: bytes | None = None
    if septets is not None:
        coding, data, single, per_part = GSM7, septets, 160, 153
    elif latin1:
        try:
            data = text.encode("latin-1")
            coding, single, per_part = LATIN1, 140, 134
        except UnicodeEncodeError:
            data = None
    if data is None:
        data = text.encode("utf-16-be", "surrogatepass")
        coding, single, per_part = UCS2, 140, 134
    if len(data) <= single:
        return Encoded(coding, (data,))
    if long == "payload":
        return Encoded(coding, (), payload=data)
    chunks: list[bytes] = []
    start = 0
    while start < len(data):
        cut = min(len(data), start + per_part)
        if cut < len(data):
            if coding == GSM7 and data[cut - 1] == gsm7.ESC:
                cut -= 1  # never split an escape from its character
            elif coding == UCS2 and 0xD8 <= data[cut - 2] <= 0xDB:
                cut -= 2  # nor a surrogate pair
        chunks.append(data[start:cut])
        start = cut
    if len(chunks) > 255:
        raise ValueError("the text needs more than 255 parts")
    ref = next(_concat_refs) & 0xFF
    total = len(chunks)
    return Encoded(
        coding,
        tuple(bytes((5, 0, 3, ref, total, seq)) + chunk for seq, chunk in enumerate(chunks, 1)),
    )


def decode_text(data: bytes, data_coding: int) -> str:
    coding = data_coding & 0x0F if data_coding & 0xF0 in (0x00, 0xF0) else data_coding
    if coding == UCS2:
        return data.decode("utf-16-be", "replace")
    if coding in (LATIN1, 0x01):  # Latin-1, IA5/ASCII
        return data.decode("latin-1")
    if coding == GSM7:
        if all(b < 0x80 for b in data):
            return gsm7.from_septets(data)
        return data.decode("latin-1")  # some SMSCs give Latin-1 under the default alphabet
    return data.decode("latin-1", "replace")


def split_udh(data: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    """(ref, total, seq) of a concatenation UDH, and the text after the UDH."""
    if not data:
        return None, data
    udhl = data[0]
    udh, rest = data[1 : 1 + udhl], data[1 + udhl :]
    i, concat = 0, None
    while i + 2 <= len(udh):
        iei, length = udh[i], udh[i + 1]
        value = udh[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3 and len(value) == 3:
            concat = (value[0], value[1], value[2])
        elif iei == 0x08 and length == 4 and len(value) == 4:
            concat = ((value[0] << 8) | value[1], value[2], value[3])
        i += 2 + length
    return concat, rest


# --- submit_sm ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Addressing:
    source: str
    source_ton: int
    source_npi: int
    system_type: str = ""  # service_type of each submit_sm
    registered: bool = True


def submit_sm(
    sequence: int,
    addressing: Addressing,
    to: str,
    encoded: Encoded,
    part: int,
    *,
    flash: bool = False,
) -> bytes:
    """The submit_sm of part `part` (0-based) of an encoded text to `to` (E.164). `flash`:
    message class 0, by the data_coding's class bits (GSM-7 0x10, UCS-2 0x18) and the
    dest_addr_subunit TLV (1, the phone's display) that SMSCs read for Latin-1 too."""
    international = to.startswith("+")
    tlvs: list[smpp34.Tlv] = []
    data_coding = encoded.data_coding
    if flash:
        tlvs.append(smpp34.Tlv(TLV_DEST_ADDR_SUBUNIT, b"\x01"))
        if data_coding in (GSM7, UCS2):
            data_coding |= 0x10
    if encoded.payload:
        short, esm = b"", 0
        tlvs.append(smpp34.Tlv(TLV_MESSAGE_PAYLOAD, encoded.payload))
    else:
        short = encoded.parts[part]
        esm = 0x40 if len(encoded.parts) > 1 else 0
    return smpp34.SubmitSm(
        addressing.source,
        to.lstrip("+"),
        short,
        service_type=addressing.system_type,
        source_addr_ton=addressing.source_ton,
        source_addr_npi=addressing.source_npi,
        dest_addr_ton=1 if international else 0,
        dest_addr_npi=1,
        esm_class=esm,
        registered_delivery=1 if addressing.registered else 0,
        data_coding=data_coding,
        tlvs=tlvs,
        sequence_number=sequence,
    ).encode()


def part_count(encoded: Encoded) -> int:
    return 1 if encoded.payload else len(encoded.parts)


# --- deliver_sm ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    id: str
    stat: str
    err: str
    text: str
    from_tlv: bool = False  # the id came from receipted_message_id (the resp's format)


_RECEIPT_FIELD = re.compile(r"(?i)\b(id|stat|err):\s*([^\s]*)")
FINAL_DELIVERED = frozenset({"DELIVRD"})
FINAL_FAILED = frozenset({"EXPIRED", "DELETED", "UNDELIV", "REJECTD", "UNKNOWN", "FAILED"})


def parse_receipt(text: str, tlv_id: str = "") -> Receipt | None:
    """The fields of a delivery receipt (`id:… sub:… dlvrd:… … stat:DELIVRD err:000 text:…`);
    the `receipted_message_id` TLV, when the SMSC gives one, wins over the text's id."""
    fields: dict[str, str] = {}
    for name, value in _RECEIPT_FIELD.findall(text):
        fields.setdefault(name.lower(), value)
    rid = tlv_id or fields.get("id", "")
    if not rid:
        return None
    stat, err = fields.get("stat", "").upper(), fields.get("err", "")
    return Receipt(rid, stat, err, text, from_tlv=bool(tlv_id))


def normalise_id(raw: str, hexadecimal: bool) -> str:
    """A message id as one canonical string: SMSCs give the submit_sm_resp id and the
    receipt's id in different bases (Kannel's msg-id-type); read in its base, written in
    decimal. An id that is not a number in that base stays as it is."""
    raw = raw.strip()
    try:
        return str(int(raw, 16 if hexadecimal else 10))
    except ValueError:
        return raw


@dataclass(frozen=True, slots=True)
class Deliver:
    sequence: int
    source: str
    source_ton: int
    receipt: Receipt | None
    text: str
    concat: tuple[int, int, int] | None
    destination: str = ""  # the address it was sent to (a shared line's sender)


def parse_deliver_sm(data: bytes) -> Deliver:
    pdu = smpp34.decode(data)
    if not isinstance(pdu, smpp34.DeliverSm):
        raise ValueError("not a deliver_sm")
    tlvs = {t.tag: t.value for t in pdu.tlvs}
    body = pdu.short_message or tlvs.get(TLV_MESSAGE_PAYLOAD, b"")
    concat = None
    if pdu.esm_class & 0x40:
        concat, body = split_udh(body)
    elif TLV_SAR_MSG_REF_NUM in tlvs:
        concat = (
            int.from_bytes(tlvs[TLV_SAR_MSG_REF_NUM], "big"),
            int.from_bytes(tlvs.get(TLV_SAR_TOTAL_SEGMENTS, b"\1"), "big"),
            int.from_bytes(tlvs.get(TLV_SAR_SEGMENT_SEQNUM, b"\1"), "big"),
        )
    receipt = None
    if pdu.esm_class & 0x3C in (0x04, 0x08, 0x10, 0x20):
        tlv_id = tlvs.get(TLV_RECEIPTED_MESSAGE_ID, b"").rstrip(b"\0").decode("latin-1")
        receipt = parse_receipt(body.decode("latin-1"), tlv_id)
    source = pdu.source_addr
    if pdu.source_addr_ton == 1 and source.isdigit():
        source = "+" + source
    text = "" if receipt else decode_text(body, pdu.data_coding)
    destination = pdu.destination_addr
    if pdu.dest_addr_ton == 1 and destination.isdigit():
        destination = "+" + destination
    return Deliver(
        pdu.sequence_number, source, pdu.source_addr_ton, receipt, text, concat, destination
    )


def addressing_for(addressing: Addressing, sender: str) -> Addressing:
    """`addressing` with `sender` as the source (a shared line's organisation: a number, or
    an alphanumeric name; its TON/NPI as for the line's own `source=`)."""
    if not sender or sender == addressing.source:
        return addressing
    digits = sender.lstrip("+")
    if digits.isdigit():
        ton, npi = (1, 1) if sender.startswith("+") or len(digits) > 8 else (3, 0)
    else:
        digits, ton, npi = sender, 5, 0
    return Addressing(digits, ton, npi, addressing.system_type, addressing.registered)
