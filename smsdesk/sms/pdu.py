"""SMS PDUs (3GPP TS 23.040): encode SMS-SUBMIT, decode SMS-DELIVER, SMS-SUBMIT and
SMS-STATUS-REPORT, as written to and read from a modem in PDU mode (TS 27.005).

Minimal version written for the modem driver while the full codec is built in parallel: same
names and signatures; GSM-7 (with the extension table), UCS-2 and 8-bit, 8/16-bit
concatenation, relative validity. Every malformed input raises `PduError`, nothing else.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from smsdesk.sms import gsm7
from smsdesk.sms.errors import PduError

_concat_refs = itertools.count(random.randrange(256))


@dataclass(frozen=True, slots=True)
class Concat:
    ref: int
    total: int
    seq: int  # 1-based


@dataclass(frozen=True, slots=True)
class SubmitPart:
    hex: str  # as written after AT+CMGS: SMSC part first ("00" when none given)
    length: int  # the <length> of AT+CMGS=<length>: TPDU octets, SMSC part excluded


@dataclass(frozen=True, slots=True)
class Deliver:
    smsc: str
    sender: str
    sender_type: str  # "international" | "national" | "alphanumeric" | "unknown"
    timestamp: datetime
    text: str
    encoding: str  # "gsm7" | "ucs2" | "8bit"
    concat: Concat | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Submit:
    smsc: str
    recipient: str
    message_ref: int
    text: str
    encoding: str
    concat: Concat | None
    request_report: bool
    validity: timedelta | None


@dataclass(frozen=True, slots=True)
class StatusReportPdu:
    smsc: str
    message_ref: int
    recipient: str
    scts: datetime
    discharge: datetime
    status: int  # TP-ST

    @property
    def delivered(self) -> bool:
        return 0x00 <= self.status <= 0x1F

    @property
    def pending(self) -> bool:
        return 0x20 <= self.status <= 0x3F

    @property
    def failed(self) -> bool:
        return self.status >= 0x40


# ---------------------------------------------------------------- encoding


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
) -> list[SubmitPart]:
    if not text:
        raise PduError("the text is empty")
    try:
        destination = _encode_address(to)
        smsc_part = _encode_smsc(smsc)
    except ValueError as e:
        raise PduError(str(e)) from None
    ucs2 = gsm7.encoding_of(text) is gsm7.Encoding.UCS2
    chunks = _split(text, ucs2=ucs2, concat_16bit=concat_16bit)
    if len(chunks) > 255:
        raise PduError("the text needs more than 255 parts")
    if len(chunks) > 1 and concat_ref is None:
        concat_ref = next(_concat_refs) % (65536 if concat_16bit else 256)
    parts = []
    for seq, chunk in enumerate(chunks, 1):
        udh = b""
        if len(chunks) > 1:
            assert concat_ref is not None
            if concat_16bit:
                udh = bytes([6, 8, 4, concat_ref >> 8 & 0xFF, concat_ref & 0xFF, len(chunks), seq])
            else:
                udh = bytes([5, 0, 3, concat_ref & 0xFF, len(chunks), seq])
        first = 0x01 | (0x20 if request_report else 0) | (0x40 if udh else 0)
        first |= 0x10 if validity is not None else 0
        tpdu = bytes([first, message_ref & 0xFF]) + destination + bytes([0, 8 if ucs2 else 0])
        if validity is not None:
            tpdu += bytes([_relative_validity(validity)])
        if ucs2:
            body = chunk.encode("utf-16-be")
            tpdu += bytes([len(udh) + len(body)]) + udh + body
        else:
            septets = gsm7.encode_septets(chunk)
            fill = (7 - len(udh) * 8 % 7) % 7 if udh else 0
            header_septets = (len(udh) * 8 + fill) // 7
            tpdu += bytes([header_septets + len(septets)]) + udh + _pack(septets, fill)
        parts.append(SubmitPart(hex=(smsc_part + tpdu).hex().upper(), length=len(tpdu)))
    return parts


def _split(text: str, *, ucs2: bool, concat_16bit: bool) -> list[str]:
    single = 70 if ucs2 else 160
    per_part = (67 if ucs2 else 153) - (1 if concat_16bit else 0)

    def cost(c: str) -> int:
        if ucs2:
            return 2 if ord(c) > 0xFFFF else 1
        return 2 if c in gsm7.EXTENSION_CHARS else 1

    costs = [cost(c) for c in text]
    if sum(costs) <= single:
        return [text]
    parts, start, used = [], 0, 0
    for i, c in enumerate(costs):
        if used + c > per_part:
            parts.append(text[start:i])
            start, used = i, 0
        used += c
    parts.append(text[start:])
    return parts


def _pack(septets: list[int], fill: int) -> bytes:
    acc = 0
    for i, s in enumerate(septets):
        acc |= s << (fill + 7 * i)
    nbits = fill + 7 * len(septets)
    return acc.to_bytes((nbits + 7) // 8, "little")


def _unpack(data: bytes, fill: int, count: int) -> list[int]:
    acc = int.from_bytes(data, "little") >> fill
    if fill + 7 * count > len(data) * 8:
        raise PduError("user data shorter than its length")
    return [(acc >> (7 * i)) & 0x7F for i in range(count)]


def _bcd(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def _encode_address(number: str) -> bytes:
    digits = number.strip().lstrip("+")
    if not digits or not digits.isdigit() or len(digits) > 20:
        raise ValueError(f"{number!r} is not a phone number")
    kind = 0x91 if number.strip().startswith("+") else 0x81
    return bytes([len(digits), kind]) + _bcd(digits)


def _encode_smsc(smsc: str) -> bytes:
    if not smsc:
        return b"\x00"
    address = _encode_address(smsc)
    return bytes([len(address) - 1]) + address[1:]


def _relative_validity(validity: timedelta) -> int:
    minutes = validity.total_seconds() / 60
    if minutes <= 720:
        return max(0, int(minutes // 5) - 1)
    if minutes <= 1440:
        return 143 + int((minutes - 720) // 30)
    days = minutes / 1440
    if days <= 30:
        return 166 + int(days) - 1
    return min(255, 192 + int(days // 7) - 4)


# ---------------------------------------------------------------- decoding


def decode(
    hex_pdu: str, *, smsc_present: bool = True, outgoing: bool = False
) -> Deliver | Submit | StatusReportPdu:
    try:
        data = bytes.fromhex(hex_pdu.strip())
    except ValueError:
        raise PduError("not hexadecimal") from None
    try:
        return _decode(_Reader(data), smsc_present=smsc_present, outgoing=outgoing)
    except PduError:
        raise
    except (ValueError, IndexError, OverflowError) as e:
        raise PduError(f"malformed PDU: {e}") from None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PduError("the PDU ends too early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]


def _decode(
    r: _Reader, *, smsc_present: bool, outgoing: bool
) -> Deliver | Submit | StatusReportPdu:
    smsc = ""
    if smsc_present:
        n = r.byte()
        if n:
            raw = r.take(n)
            smsc = _address_value(raw[0], raw[1:], None)
    first = r.byte()
    mti = first & 0x03
    if outgoing:
        if mti != 1:
            raise PduError(f"message type {mti} is not an SMS-SUBMIT")
        message_ref = r.byte()
        recipient, _ = _read_address(r)
        r.byte()  # PID
        dcs = r.byte()
        vpf = first >> 3 & 0x03
        validity = None
        if vpf == 2:
            validity = _relative_to_timedelta(r.byte())
        elif vpf in (1, 3):
            r.take(7)
        text, encoding, concat, _ = _user_data(r, dcs, udhi=bool(first & 0x40))
        return Submit(
            smsc, recipient, message_ref, text, encoding, concat, bool(first & 0x20), validity
        )
    if mti == 0:
        sender, sender_type = _read_address(r)
        r.byte()  # PID
        dcs = r.byte()
        timestamp = _timestamp(r.take(7))
        text, encoding, concat, raw = _user_data(r, dcs, udhi=bool(first & 0x40))
        return Deliver(smsc, sender, sender_type, timestamp, text, encoding, concat, raw)
    if mti == 2:
        message_ref = r.byte()
        recipient, _ = _read_address(r)
        scts = _timestamp(r.take(7))
        discharge = _timestamp(r.take(7))
        return StatusReportPdu(smsc, message_ref, recipient, scts, discharge, r.byte())
    raise PduError(f"message type {mti} is not an SMS-DELIVER or SMS-STATUS-REPORT")


def _read_address(r: _Reader) -> tuple[str, str]:
    length = r.byte()
    kind = r.byte()
    if length > 40:
        raise PduError("address too long")
    raw = r.take((length + 1) // 2)
    return _address_value(kind, raw, length), _address_type(kind)


def _address_type(kind: int) -> str:
    return {0x10: "international", 0x20: "national", 0x50: "alphanumeric"}.get(
        kind & 0x70, "unknown"
    )


def _address_value(kind: int, raw: bytes, length: int | None) -> str:
    if kind & 0x70 == 0x50:
        septets = (length or len(raw) * 2) * 4 // 7
        return gsm7.decode_septets(_unpack(raw, 0, septets))
    digits = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in raw)
    digits = digits[:length] if length is not None else digits
    digits = digits.rstrip("F").replace("A", "*").replace("B", "#")
    if not all(c.isdigit() or c in "*#" for c in digits):
        raise PduError("address has non-digit semi-octets")
    return ("+" + digits) if kind & 0x70 == 0x10 and digits else digits


def _swapped(b: int) -> int:
    lo, hi = b & 0x0F, b >> 4
    if lo > 9 or hi > 9:
        raise PduError("time stamp is not BCD")
    return lo * 10 + hi


def _timestamp(raw: bytes) -> datetime:
    year, month, day, hour, minute, second = (_swapped(b) for b in raw[:6])
    tz = raw[6]
    quarters = (tz & 0x07) * 10 + (tz >> 4)
    offset = timedelta(minutes=15 * quarters) * (-1 if tz & 0x08 else 1)
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError as e:
        raise PduError(f"bad time stamp: {e}") from None


def _relative_to_timedelta(vp: int) -> timedelta:
    if vp <= 143:
        return timedelta(minutes=(vp + 1) * 5)
    if vp <= 167:
        return timedelta(hours=12, minutes=(vp - 143) * 30)
    if vp <= 196:
        return timedelta(days=vp - 166)
    return timedelta(weeks=vp - 192)


def _alphabet(dcs: int) -> str:
    group = dcs & 0xF0
    if dcs & 0xC0 in (0x00, 0x40):
        return ("gsm7", "8bit", "ucs2", "gsm7")[dcs >> 2 & 0x03]
    if group == 0xF0:
        return "8bit" if dcs & 0x04 else "gsm7"
    if group == 0xE0:
        return "ucs2"
    return "gsm7"


def _user_data(r: _Reader, dcs: int, *, udhi: bool) -> tuple[str, str, Concat | None, bytes]:
    encoding = _alphabet(dcs)
    udl = r.byte()
    rest = r.data[r.pos :]
    octets = (udl * 7 + 7) // 8 if encoding == "gsm7" else udl
    if octets > len(rest):
        raise PduError("user data shorter than its length")
    ud = rest[:octets]
    udh, concat = b"", None
    if udhi:
        if not ud:
            raise PduError("header announced but no user data")
        udh = ud[: ud[0] + 1]
        if len(udh) != ud[0] + 1:
            raise PduError("header longer than the user data")
        concat = _concat(udh[1:])
    if encoding == "gsm7":
        fill = (7 - len(udh) * 8 % 7) % 7 if udh else 0
        header_septets = (len(udh) * 8 + fill) // 7
        count = udl - header_septets
        if count < 0:
            raise PduError("header longer than the user data")
        septets = _unpack(ud[len(udh) :], fill, count)
        return gsm7.decode_septets(septets), encoding, concat, b""
    body = ud[len(udh) :]
    if encoding == "ucs2":
        return body.decode("utf-16-be", errors="replace"), encoding, concat, b""
    return body.decode("latin-1"), encoding, concat, bytes(body)


def _concat(elements: bytes) -> Concat | None:
    i = 0
    while i + 1 < len(elements):
        iei, length = elements[i], elements[i + 1]
        value = elements[i + 2 : i + 2 + length]
        if len(value) != length:
            raise PduError("header element cut short")
        if iei == 0 and length == 3:
            return _valid_concat(value[0], value[1], value[2])
        if iei == 8 and length == 4:
            return _valid_concat(value[0] << 8 | value[1], value[2], value[3])
        i += 2 + length
    return None


def _valid_concat(ref: int, total: int, seq: int) -> Concat | None:
    # TS 23.040: a part numbered 0 or beyond the total is ignored as a concatenation element.
    return Concat(ref, total, seq) if 1 <= seq <= total else None
