"""SMS PDUs (3GPP TS 23.040) as a GSM modem takes and gives them in PDU mode (TS 27.005).

`encode_submit` turns a text into the SMS-SUBMIT PDU of each part, ready for `AT+CMGS`;
`decode` reads an SMS-DELIVER or SMS-STATUS-REPORT (what a modem receives) or an SMS-SUBMIT
(what it sends). Pure: no Django, no I/O.

Input comes from strangers (any phone can send anything), so decoding trusts no length: every
field is checked against what is left of the PDU, every loop is bounded by the input length,
and any malformed input raises `PduError`, never another exception.

Speed matters (a campaign is encoded part by part in the worker): the text is converted by
the table-driven calls of `gsm7` and the 7-bit packing works on the whole message as one
integer (`_pack`/`_unpack`), with no per-bit or per-character Python loop.

Splitting follows `gsm7.split` exactly (153 septets or 67 UTF-16 units per part, an escape
pair or a surrogate pair never cut), so a text the UI counts as N SMS goes out as N parts.
With a 16-bit concatenation reference the header is one octet longer (152 septets or 66
units per part), which can take one part more than the UI counts.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from smsdesk.sms import gsm7
from smsdesk.sms.errors import PduError

__all__ = [
    "Concat",
    "Deliver",
    "PduError",
    "StatusReportPdu",
    "Submit",
    "SubmitPart",
    "decode",
    "encode_submit",
]

MAX_PARTS = 255  # the concatenation header counts parts in one octet
MAX_PDU_OCTETS = 200  # SMSC address (12) + the longest TPDU (a status report, ~170)
_MAX_HEX = 2 * MAX_PDU_OCTETS + 64  # leaves room for spaces between octets

# Alphabets of TP-DCS (TS 23.038 section 4).
GSM7, EIGHT_BIT, UCS2 = "gsm7", "8bit", "ucs2"

# Address types (TS 23.040 9.1.2.5, type of number in bits 6-4 of the type-of-address octet).
INTERNATIONAL, NATIONAL, ALPHANUMERIC, UNKNOWN = (
    "international",
    "national",
    "alphanumeric",
    "unknown",
)
_TON_INTERNATIONAL, _TON_NATIONAL, _TON_ALPHANUMERIC = 1, 2, 5
_TOA_INTERNATIONAL, _TOA_UNKNOWN = 0x91, 0x81  # ISDN numbering plan

_MTI_DELIVER, _MTI_SUBMIT, _MTI_STATUS_REPORT = 0, 1, 2
_UDHI, _SRR, _VPF_RELATIVE = 0x40, 0x20, 0x10
_IEI_CONCAT_8BIT, _IEI_CONCAT_16BIT = 0x00, 0x08
_ESC = gsm7.ESC


class _Invalid(Exception):
    """Raised inside the decoder, turned into one PduError at its edge."""


# --- tables -------------------------------------------------------------------------------

# An octet with its two semi-octets swapped: addresses and time stamps store the low digit first.
_SWAP_NIBBLES = bytes(((i & 0x0F) << 4) | (i >> 4) for i in range(256))
# A swapped-BCD octet -> its value 0..99, or 0xFF when a semi-octet is not a decimal digit.
_BCD_VALUE = bytes(
    (i & 0x0F) * 10 + (i >> 4) if (i & 0x0F) < 10 and (i >> 4) < 10 else 0xFF for i in range(256)
)
# Semi-octets A-E of a number are * # a b c (TS 23.040 9.1.2.3); F is a filler, dropped.
_EXTRA_DIGITS = str.maketrans({"a": "*", "b": "#", "c": "a", "d": "b", "e": "c", "f": None})
_DIGITS = frozenset("0123456789")


def _alphabet_of(dcs: int) -> str:
    """The alphabet of a TP-DCS octet (TS 23.038 section 4); reserved codings read as GSM-7,
    as the specification says."""
    group = dcs >> 4
    if group < 0x8:  # general data coding (0x00-0x3F), automatic deletion group (0x40-0x7F)
        if dcs & 0x20:  # compressed: we do not decompress, the octets are given as data
            return EIGHT_BIT
        return (GSM7, EIGHT_BIT, UCS2, GSM7)[(dcs >> 2) & 3]
    if group == 0xE:  # message waiting indication, store, UCS-2
        return UCS2
    if group == 0xF:  # data coding / message class
        return EIGHT_BIT if dcs & 0x04 else GSM7
    return GSM7  # 0x8-0xB reserved, 0xC-0xD message waiting (GSM-7)


_ALPHABET = tuple(_alphabet_of(dcs) for dcs in range(256))
_DCS_OF = {GSM7: 0x00, UCS2: 0x08}

_ZONES = {q: timezone(timedelta(minutes=15 * q)) for q in range(-79, 80)}
_ZONES[0] = UTC


# --- 7-bit packing on the whole message -----------------------------------------------------
#
# Septets are given one per byte. Read as one little-endian integer, septet i sits at bit 8i;
# packed, it must sit at bit 7i. Each step merges pairs of blocks: blocks of 8*2^k bits hold
# 7*2^k bits, so the odd block of each pair moves down by 2^k bits. log2(n) steps, each a few
# big-integer operations done in C. Unpacking runs the same steps backwards. Masks are cut to
# the size of the message class (powers of two) so that short messages use short integers.

_MAX_SEPTETS_LOG2 = 8  # 256 septets: a part holds at most 160, an address at most 11


def _step_masks() -> tuple[dict[int, tuple[tuple[int, int, int], ...]], ...]:
    pack_steps, unpack_steps = {}, {}
    for size_log2 in range(_MAX_SEPTETS_LOG2 + 1):
        total_bits = 8 << size_log2
        packs, unpacks = [], []
        for k in range(size_log2):
            width, content = 8 << k, 7 << k
            even = odd = low = high = 0
            for start in range(0, total_bits, 2 * width):
                even |= ((1 << width) - 1) << start
                odd |= ((1 << width) - 1) << (start + width)
                low |= ((1 << content) - 1) << start
                high |= ((1 << content) - 1) << (start + content)
            packs.append((even, odd, 1 << k))
            unpacks.append((low, high, 1 << k))
        pack_steps[size_log2] = tuple(packs)
        unpack_steps[size_log2] = tuple(reversed(unpacks))
    return pack_steps, unpack_steps


_PACK_STEPS, _UNPACK_STEPS = _step_masks()


def _pack(septets: bytes) -> int:
    """The septets (one per byte, each < 128) packed 7 bits each, as a little-endian integer."""
    x = int.from_bytes(septets, "little")
    for even, odd, shift in _PACK_STEPS[(len(septets) - 1).bit_length()]:
        x = (x & even) | ((x & odd) >> shift)
    return x


def _unpack(packed: int, count: int) -> bytes:
    """`count` septets from the low bits of `packed` (count <= 256), one per byte."""
    if count <= 0:
        return b""
    x = packed & ((1 << (7 * count)) - 1)
    for low, high, shift in _UNPACK_STEPS[(count - 1).bit_length()]:
        x = (x & low) | ((x & high) << shift)
    return x.to_bytes(count, "little")


# --- encoding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitPart:
    hex: str  # as written after AT+CMGS: SMSC part first ("00" when none given)
    length: int  # the <length> of AT+CMGS=<length>: TPDU octets, SMSC part excluded


@dataclass(frozen=True, slots=True)
class Concat:
    ref: int
    total: int
    seq: int  # 1-based


_references = itertools.count(random.randrange(1 << 16))  # next() is atomic under the GIL


def _digits_to_bcd(digits: str) -> bytes:
    if len(digits) & 1:
        digits += "F"
    return bytes.fromhex(digits).translate(_SWAP_NIBBLES)


def _number(value: str, what: str) -> tuple[str, int]:
    """(digits, type of address) of a number to send to: +E.164 or national digits."""
    digits = value[1:] if value.startswith("+") else value
    if not digits or len(digits) > 20 or not _DIGITS.issuperset(digits):
        raise PduError(f"{what} {value!r} is not a phone number (digits, + in front)")
    return digits, _TOA_INTERNATIONAL if value.startswith("+") else _TOA_UNKNOWN


def _smsc_octets(smsc: str) -> bytes:
    if not smsc:
        return b"\x00"
    digits, toa = _number(smsc, "SMSC")
    bcd = _digits_to_bcd(digits)
    if len(bcd) > 10:
        raise PduError(f"SMSC {smsc!r} is longer than 20 digits")
    return bytes((len(bcd) + 1, toa)) + bcd


def _relative_validity(validity: timedelta) -> int:
    """TP-VP relative format (TS 23.040 9.2.3.12.1), rounded up to the next step the format
    has (5 minutes, 30 minutes, a day, a week), at most 63 weeks."""
    seconds = validity.total_seconds()
    if seconds <= 0:
        raise PduError("the validity period must be positive")
    minutes = math.ceil(seconds / 60)
    if minutes <= 12 * 60:
        return max(0, -(-minutes // 5) - 1)
    if minutes <= 24 * 60:
        return 143 + -(-(minutes - 12 * 60) // 30)
    if minutes <= 30 * 24 * 60:
        return 166 + -(-minutes // (24 * 60))
    return min(255, 192 + -(-minutes // (7 * 24 * 60)))


def _split_units(
    data: bytes, single: int, per_part: int, unit: int, cut_before: Callable[[bytes, int], bool]
) -> list[bytes]:
    """Cut encoded text into parts like gsm7.split: whole when it fits one SMS, else greedy
    parts of `per_part` octets, moving a character back when `cut_before` says it is cut."""
    if len(data) <= single:
        return [data]
    if len(data) > MAX_PARTS * per_part:  # checked before cutting: bounded work
        raise PduError(f"the text needs more than {MAX_PARTS} parts")
    parts, start, end = [], 0, len(data)
    while end - start > per_part:
        cut = start + per_part
        if cut_before(data, cut):
            cut -= unit
        parts.append(data[start:cut])
        start = cut
    parts.append(data[start:])
    if len(parts) > MAX_PARTS:
        raise PduError(f"the text needs more than {MAX_PARTS} parts")
    return parts


def _cuts_an_escape(septets: bytes, cut: int) -> bool:
    return septets[cut - 1] == _ESC  # the encoder never emits ESC as an extension code


def _cuts_a_surrogate_pair(utf16: bytes, cut: int) -> bool:
    return 0xD8 <= utf16[cut - 2] <= 0xDB  # the last unit kept is a high surrogate


def encode_submit(
    to: str,
    text: str,
    *,
    smsc: str = "",
    request_report: bool = True,
    validity: timedelta | None = None,
    concat_ref: int | None = None,
    concat_16bit: bool = False,
    message_ref: int = 0,
    flash: bool = False,
) -> list[SubmitPart]:
    """The SMS-SUBMIT PDU of each part of `text` to `to` (+E.164 or national digits).

    GSM-7 (with the extension table) when every character has a code there, else UCS-2 (an
    emoji is a UTF-16 surrogate pair). More than one part: each carries a concatenation
    header with `concat_ref` (chosen here when None). `validity` is rounded up to a step of
    the relative format. `message_ref` is TP-MR (modems usually replace it with their own).
    An empty text is one empty SMS. `flash`: message class 0 (TP-DCS 0x10 for GSM-7, 0x18
    for UCS-2): the phone shows it at once and does not store it."""
    if not isinstance(text, str):
        raise PduError("the text must be a str")
    if len(text) > MAX_PARTS * gsm7.PART_GSM7:  # every character costs a unit at least
        raise PduError(f"the text needs more than {MAX_PARTS} parts")
    if not 0 <= message_ref <= 255:
        raise PduError(f"message reference {message_ref} is not in 0-255")
    digits, toa = _number(to, "recipient")
    header_ref_max = 0xFFFF if concat_16bit else 0xFF
    if concat_ref is not None and not 0 <= concat_ref <= header_ref_max:
        raise PduError(f"concatenation reference {concat_ref} is not in 0-{header_ref_max}")

    head = bytearray(_smsc_octets(smsc))
    smsc_length = len(head)
    first_octet = _MTI_SUBMIT | (_SRR if request_report else 0)
    vp = b""
    if validity is not None:
        first_octet |= _VPF_RELATIVE
        vp = bytes((_relative_validity(validity),))

    septets = gsm7.to_septets(text)
    if septets is not None:
        dcs = _DCS_OF[GSM7]
        per_part = gsm7.PART_GSM7 - (1 if concat_16bit else 0)
        parts = _split_units(septets, gsm7.SINGLE_GSM7, per_part, 1, _cuts_an_escape)
    else:
        try:
            utf16 = text.encode("utf-16-be")
        except UnicodeEncodeError:
            raise PduError("the text holds a lone UTF-16 surrogate: not a character") from None
        dcs = _DCS_OF[UCS2]
        per_part = 2 * (gsm7.PART_UCS2 - (1 if concat_16bit else 0))
        parts = _split_units(utf16, 2 * gsm7.SINGLE_UCS2, per_part, 2, _cuts_a_surrogate_pair)

    total = len(parts)
    ref = 0  # the concatenation reference, when there are parts
    if total > 1:
        first_octet |= _UDHI
        ref = next(_references) & header_ref_max if concat_ref is None else concat_ref
    address = bytes((len(digits), toa)) + _digits_to_bcd(digits)
    # TP-MR .. TP-DCS, and TP-VP: the same for every part
    alphabet_gsm7 = dcs == 0x00
    if flash:
        dcs |= 0x10  # TS 23.038 group 00xx with a message class; class 0 = 0b00
    middle = bytes((first_octet, message_ref)) + address + bytes((0, dcs)) + vp

    out = []
    for seq, part in enumerate(parts, 1):
        if total == 1:
            udh = b""
        elif concat_16bit:
            udh = bytes((6, _IEI_CONCAT_16BIT, 4, ref >> 8, ref & 0xFF, total, seq))
        else:
            udh = bytes((5, _IEI_CONCAT_8BIT, 3, ref, total, seq))
        if alphabet_gsm7:
            header_septets = (len(udh) * 8 + 6) // 7  # the text starts on a septet boundary
            count = header_septets + len(part)
            packed = int.from_bytes(udh, "little") | (_pack(part) << (7 * header_septets))
            user_data = packed.to_bytes((count * 7 + 7) // 8, "little")
        else:
            count = len(udh) + len(part)
            user_data = udh + part
        pdu = head + middle + bytes((count,)) + user_data
        out.append(SubmitPart(hex=pdu.hex().upper(), length=len(pdu) - smsc_length))
    return out


# --- decoding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deliver:
    smsc: str
    sender: str
    sender_type: str  # "international" | "national" | "alphanumeric" | "unknown"
    timestamp: datetime  # TP-SCTS: when the SMSC received it, aware (the zone it gave)
    text: str  # "" for 8-bit data
    encoding: str  # "gsm7" | "ucs2" | "8bit"
    concat: Concat | None
    data: bytes  # the user data (header excluded) for 8-bit, b"" otherwise
    status_report_requested: bool = False  # TP-SRI: the sender asked for a delivery report


@dataclass(frozen=True, slots=True)
class Submit:
    smsc: str
    recipient: str
    message_ref: int
    text: str
    encoding: str
    concat: Concat | None
    request_report: bool
    validity: timedelta | None  # relative (or enhanced) validity period
    recipient_type: str = UNKNOWN
    validity_until: datetime | None = None  # absolute validity period
    data: bytes = b""


# TP-ST reasons (TS 23.040 9.2.3.15), in English: translated at the edge.
_STATUS_REASONS = {
    0x00: "received by the recipient",
    0x01: "forwarded, delivery not confirmed",
    0x02: "replaced by the SMSC",
    0x20: "congestion, still trying",
    0x21: "recipient busy, still trying",
    0x22: "no response from the recipient, still trying",
    0x23: "service rejected, still trying",
    0x24: "quality of service not available, still trying",
    0x25: "error in the recipient's phone, still trying",
    0x40: "remote procedure error",
    0x41: "incompatible destination",
    0x42: "connection rejected by the recipient",
    0x43: "not obtainable",
    0x44: "quality of service not available",
    0x45: "no interworking available",
    0x46: "validity period expired",
    0x47: "deleted by the sender",
    0x48: "deleted by the SMSC administration",
    0x49: "the message does not exist",
    0x60: "congestion, gave up",
    0x61: "recipient busy, gave up",
    0x62: "no response from the recipient, gave up",
    0x63: "service rejected, gave up",
    0x64: "quality of service not available, gave up",
    0x65: "error in the recipient's phone, gave up",
}


@dataclass(frozen=True, slots=True)
class StatusReportPdu:
    smsc: str
    message_ref: int  # TP-MR of the part this report is about (what +CMGS answered)
    recipient: str
    scts: datetime  # when the SMSC received the part
    discharge: datetime  # when it was delivered, or the time of the status
    status: int  # TP-ST
    recipient_type: str = UNKNOWN

    @property
    def delivered(self) -> bool:
        """Transaction completed (0x00-0x1F): received, or forwarded with no confirmation."""
        return self.status < 0x20

    @property
    def pending(self) -> bool:
        """Temporary error, the SMSC is still trying (0x20-0x3F)."""
        return 0x20 <= self.status < 0x40

    @property
    def failed(self) -> bool:
        """The SMSC gave up (0x40-0x7F; reserved values 0x80-0xFF count as failures)."""
        return self.status >= 0x40

    @property
    def reason(self) -> str:
        if self.status in _STATUS_REASONS:
            return _STATUS_REASONS[self.status]
        kind = "delivered" if self.delivered else "still trying" if self.pending else "failed"
        return f"{kind} (status 0x{self.status:02X})"


def decode(
    hex_pdu: str, *, smsc_present: bool = True, outgoing: bool = False
) -> Deliver | Submit | StatusReportPdu:
    """Read a PDU given in hex as a modem lists it (`AT+CMGL`/`+CMT`/`+CDS`).

    smsc_present: the PDU starts with the SMSC address (what modems give; "00" = none).
    outgoing=False: an SMS-DELIVER or SMS-STATUS-REPORT; outgoing=True: an SMS-SUBMIT."""
    if not isinstance(hex_pdu, str):
        raise PduError("a PDU is given as a hexadecimal string")
    if len(hex_pdu) > _MAX_HEX:
        raise PduError(f"{len(hex_pdu)} hexadecimal digits: longer than any PDU")
    try:
        pdu = bytes.fromhex(hex_pdu)
    except ValueError:
        raise PduError("not hexadecimal octets (two digits 0-9 A-F each)") from None
    try:
        return _decode(pdu, smsc_present, outgoing)
    except _Invalid as e:
        raise PduError(str(e)) from None
    except (IndexError, ValueError, KeyError, OverflowError) as e:  # a check we missed: still ours
        raise PduError(f"malformed PDU ({type(e).__name__}: {e})") from None


def _decode(pdu: bytes, smsc_present: bool, outgoing: bool) -> Deliver | Submit | StatusReportPdu:
    size = len(pdu)
    smsc, pos = "", 0
    if smsc_present:
        if not size:
            raise _Invalid("empty PDU")
        smsc_length = pdu[0]
        if smsc_length:
            if smsc_length > 11:
                raise _Invalid(f"SMSC address of {smsc_length} octets: at most 11")
            if smsc_length >= size:
                raise _Invalid("the PDU ends inside the SMSC address")
            smsc = _semi_octet_number(pdu[2 : 1 + smsc_length], pdu[1], 2 * smsc_length)[0]
        pos = 1 + smsc_length
    if pos >= size:
        raise _Invalid("no message after the SMSC address")
    first = pdu[pos]
    kind = first & 3
    if outgoing:
        if kind != _MTI_SUBMIT:
            raise _Invalid(f"message type {kind} is not an SMS-SUBMIT")
        return _decode_submit(pdu, pos, smsc)
    if kind == _MTI_DELIVER:
        return _decode_deliver(pdu, pos, smsc)
    if kind == _MTI_STATUS_REPORT:
        return _decode_status_report(pdu, pos, smsc)
    hint = " (an SMS-SUBMIT? read it as outgoing)" if kind == _MTI_SUBMIT else ""
    raise _Invalid(f"message type {kind} is neither an SMS-DELIVER nor an SMS-STATUS-REPORT{hint}")


def _decode_deliver(pdu: bytes, pos: int, smsc: str) -> Deliver:
    first = pdu[pos]
    sender, sender_type, pos = _address(pdu, pos + 1)
    if pos + 10 > len(pdu):
        raise _Invalid("the PDU ends inside the SMS-DELIVER header")
    dcs = pdu[pos + 1]
    timestamp = _timestamp(pdu[pos + 2 : pos + 9])
    text, encoding, concat, data = _user_data(pdu, pos + 10, pdu[pos + 9], dcs, first & _UDHI)
    return Deliver(
        smsc, sender, sender_type, timestamp, text, encoding, concat, data, bool(first & _SRR)
    )


def _decode_submit(pdu: bytes, pos: int, smsc: str) -> Submit:
    first = pdu[pos]
    if pos + 2 > len(pdu):
        raise _Invalid("the PDU ends before the message reference")
    message_ref = pdu[pos + 1]
    recipient, recipient_type, pos = _address(pdu, pos + 2)
    if pos + 2 > len(pdu):
        raise _Invalid("the PDU ends inside the SMS-SUBMIT header")
    dcs = pdu[pos + 1]
    pos += 2
    validity, validity_until = None, None
    vpf = (first >> 3) & 3
    if vpf == 2:  # relative, one octet
        if pos >= len(pdu):
            raise _Invalid("the PDU ends inside the validity period")
        validity = _relative_period(pdu[pos])
        pos += 1
    elif vpf:  # enhanced (1) or absolute (3), seven octets
        if pos + 7 > len(pdu):
            raise _Invalid("the PDU ends inside the validity period")
        if vpf == 3:
            validity_until = _timestamp(pdu[pos : pos + 7])
        else:
            validity = _enhanced_period(pdu[pos : pos + 7])
        pos += 7
    if pos >= len(pdu):
        raise _Invalid("the PDU ends before the user data length")
    text, encoding, concat, data = _user_data(pdu, pos + 1, pdu[pos], dcs, first & _UDHI)
    return Submit(
        smsc,
        recipient,
        message_ref,
        text,
        encoding,
        concat,
        bool(first & _SRR),
        validity,
        recipient_type,
        validity_until,
        data,
    )


def _decode_status_report(pdu: bytes, pos: int, smsc: str) -> StatusReportPdu:
    if pos + 2 > len(pdu):
        raise _Invalid("the PDU ends before the message reference")
    message_ref = pdu[pos + 1]
    recipient, recipient_type, pos = _address(pdu, pos + 2)
    if pos + 15 > len(pdu):
        raise _Invalid("the PDU ends inside the status report")
    scts = _timestamp(pdu[pos : pos + 7])
    discharge = _timestamp(pdu[pos + 7 : pos + 14])
    status = pdu[pos + 14]
    # Optional TP-PI, PID, DCS, UDL, UD may follow: nothing we use, and networks fill them in
    # loosely, so they are not read (a report must not be lost over them).
    return StatusReportPdu(smsc, message_ref, recipient, scts, discharge, status, recipient_type)


def _address(pdu: bytes, pos: int) -> tuple[str, str, int]:
    """(address, its type, position after it) of TP-OA/TP-DA/TP-RA at `pos`."""
    if pos + 2 > len(pdu):
        raise _Invalid("the PDU ends inside an address")
    semi_octets, toa = pdu[pos], pdu[pos + 1]
    if semi_octets > 20:
        raise _Invalid(f"address of {semi_octets} digits: at most 20")
    end = pos + 2 + (semi_octets + 1) // 2
    if end > len(pdu):
        raise _Invalid("the PDU ends inside an address")
    raw = pdu[pos + 2 : end]
    if (toa >> 4) & 7 == _TON_ALPHANUMERIC:
        septets = _unpack(int.from_bytes(raw, "little"), semi_octets * 4 // 7)
        return gsm7.from_septets(septets), ALPHANUMERIC, end
    number, kind = _semi_octet_number(raw, toa, semi_octets)
    return number, kind, end


def _semi_octet_number(raw: bytes, toa: int, semi_octets: int) -> tuple[str, str]:
    digits = raw.translate(_SWAP_NIBBLES).hex()[:semi_octets]
    if not digits.isdigit():
        digits = digits.translate(_EXTRA_DIGITS)
    ton = (toa >> 4) & 7
    if ton == _TON_INTERNATIONAL:
        return "+" + digits, INTERNATIONAL
    return digits, NATIONAL if ton == _TON_NATIONAL else UNKNOWN


def _timestamp(octets: bytes) -> datetime:
    """TP-SCTS (TS 23.040 9.2.3.11): swapped BCD year..second, then the zone in quarter
    hours with its sign in bit 3."""
    values = octets.translate(_BCD_VALUE)
    zone = octets[6]
    if 0xFF in values[:6] or (zone >> 4) > 9:
        raise _Invalid(f"time stamp {octets.hex().upper()} has a non-decimal digit")
    quarters = (zone & 0x07) * 10 + (zone >> 4)
    try:
        return datetime(
            values[0] + (2000 if values[0] < 90 else 1900),  # no century: 1990-2089
            values[1],
            values[2],
            values[3],
            values[4],
            values[5],
            tzinfo=_ZONES[-quarters if zone & 0x08 else quarters],
        )
    except ValueError:
        raise _Invalid(f"time stamp {octets.hex().upper()} is not a date") from None


def _relative_period(vp: int) -> timedelta:
    if vp <= 143:
        return timedelta(minutes=5 * (vp + 1))
    if vp <= 167:
        return timedelta(hours=12, minutes=30 * (vp - 143))
    if vp <= 196:
        return timedelta(days=vp - 166)
    return timedelta(weeks=vp - 192)


def _enhanced_period(octets: bytes) -> timedelta | None:
    """TS 23.040 9.2.3.12.3: the functionality octet says how the rest reads."""
    form = octets[0] & 0x07
    if form == 1:
        return _relative_period(octets[1])
    if form == 2:
        return timedelta(seconds=octets[1])
    if form == 3:
        values = octets[1:4].translate(_BCD_VALUE)
        if 0xFF in values:
            raise _Invalid("validity period has a non-decimal digit")
        return timedelta(hours=values[0], minutes=values[1], seconds=values[2])
    return None  # no validity period, or a reserved form


def _user_data(
    pdu: bytes, pos: int, length: int, dcs: int, has_header: int
) -> tuple[str, str, Concat | None, bytes]:
    """(text, encoding, concatenation, 8-bit data) of TP-UD at `pos`, TP-UDL `length`."""
    encoding = _ALPHABET[dcs]
    if encoding == GSM7:
        if length > 160:
            raise _Invalid(f"user data of {length} septets: at most 160")
        octets = (length * 7 + 7) // 8
    else:
        if length > 140:
            raise _Invalid(f"user data of {length} octets: at most 140")
        octets = length
    left = len(pdu) - pos
    if left < octets:
        raise _Invalid(f"the user data is {octets - left} octets short")
    # Octets after the user data are ignored: some modems list PDUs with padding after it.
    user_data = pdu[pos : pos + octets]
    concat, header_octets = None, 0
    if has_header:
        if not octets:
            raise _Invalid("a user data header is announced but there is no user data")
        header_octets = user_data[0] + 1
        if header_octets > octets:
            raise _Invalid("the user data header is longer than the user data")
        concat = _concatenation(user_data, header_octets)
    if encoding == GSM7:
        header_septets = (header_octets * 8 + 6) // 7
        if header_septets > length:
            raise _Invalid("the user data header is longer than the user data")
        packed = int.from_bytes(user_data, "little") >> (7 * header_septets)
        text = gsm7.from_septets(_unpack(packed, length - header_septets))
        return text, encoding, concat, b""
    if encoding == UCS2:
        # "replace": an odd octet or a lone surrogate (a sender that cut an emoji between
        # parts) shows as U+FFFD rather than losing the message.
        return user_data[header_octets:].decode("utf-16-be", "replace"), encoding, concat, b""
    return "", encoding, concat, user_data[header_octets:]


def _concatenation(user_data: bytes, header_octets: int) -> Concat | None:
    """The concatenation element of a user data header (the last valid one, TS 23.040
    9.2.3.24: an element with values out of range is ignored)."""
    concat, pos = None, 1
    while pos < header_octets:  # each element moves pos by at least 2: bounded
        if pos + 2 > header_octets:
            raise _Invalid("the user data header ends inside an element")
        iei, size = user_data[pos], user_data[pos + 1]
        value = user_data[pos + 2 : pos + 2 + size]
        if pos + 2 + size > header_octets:
            raise _Invalid("a user data header element is longer than the header")
        if iei == _IEI_CONCAT_8BIT and size == 3:
            ref, total, seq = value
        elif iei == _IEI_CONCAT_16BIT and size == 4:
            ref, total, seq = (value[0] << 8) | value[1], value[2], value[3]
        else:
            ref = total = seq = 0
        if total and 1 <= seq <= total:
            concat = Concat(ref, total, seq)
        pos += 2 + size
    return concat
