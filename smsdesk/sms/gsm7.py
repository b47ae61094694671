"""GSM 03.38 text analysis (3GPP TS 23.038) and segmentation (TS 23.040 concatenation).

A text is sent in the GSM 7-bit default alphabet when every character is in it (characters of
the extension table cost two septets: ESC + code), otherwise in UCS-2. One SMS carries 160
septets or 70 UTF-16 units; a concatenated part carries 153 or 67 (the rest is the UDH).
"""

from __future__ import annotations

import codecs
import enum
from dataclasses import dataclass

from smsdesk.sms.errors import EmptyText, TextTooLong

# The default alphabet, by code point 0x00..0x7F. 0x1B is the escape to the extension table.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128
_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
ESC = 0x1B

BASIC_CHARS: frozenset[str] = frozenset(c for c in _BASIC if c != "\x1b")
EXTENSION_CHARS: frozenset[str] = frozenset(_EXTENSION)
_GSM_CHARS: frozenset[str] = BASIC_CHARS | EXTENSION_CHARS
_BASIC_CODE = {c: i for i, c in enumerate(_BASIC) if i != ESC}
_EXTENSION_CHAR = {code: c for c, code in _EXTENSION.items()}

SINGLE_GSM7, PART_GSM7 = 160, 153
SINGLE_UCS2, PART_UCS2 = 70, 67


class Encoding(enum.StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class TextInfo:
    encoding: Encoding
    length: int  # septets (GSM-7, extension characters count 2) or UTF-16 units (UCS-2)
    segments: int  # 0 for an empty text
    per_segment: int  # 160/153 or 70/67
    remaining: int  # units still free in the last segment
    non_gsm_chars: tuple[str, ...]  # the characters that forced UCS-2, first seen first


def encoding_of(text: str) -> Encoding:
    return (
        Encoding.GSM7 if all(c in BASIC_CHARS or c in _EXTENSION for c in text) else (Encoding.UCS2)
    )


def _cost(char: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return 2 if char in _EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # astral characters are a UTF-16 surrogate pair


def split(text: str) -> list[str]:
    """The parts the text is sent in. A character (an escape pair, a surrogate pair) is never
    cut across two parts: it moves whole to the next one."""
    if not text:
        return []
    encoding = encoding_of(text)
    single, part = (
        (SINGLE_GSM7, PART_GSM7) if encoding is Encoding.GSM7 else (SINGLE_UCS2, PART_UCS2)
    )
    costs = [_cost(c, encoding) for c in text]
    if sum(costs) <= single:
        return [text]
    parts, start, used = [], 0, 0
    for i, cost in enumerate(costs):
        if used + cost > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += cost
    parts.append(text[start:])
    return parts


def analyse(text: str) -> TextInfo:
    """The text's encoding, length and parts. Counted with set and str methods (C loops):
    a personalised send analyses each distinct rendering, ~50,000 for 100,000 recipients.
    Only a long text with two-unit characters is walked part by part (`_analyse_by_parts`),
    where a part may end one unit early so as not to cut such a character."""
    gsm = _GSM_CHARS.issuperset(text)
    if gsm:
        single, part = SINGLE_GSM7, PART_GSM7
        double = 0 if EXTENSION_CHARS.isdisjoint(text) else sum(map(text.count, _EXTENSION))
    else:
        single, part = SINGLE_UCS2, PART_UCS2
        double = sum(1 for c in text if c > "\uffff") if text and max(text) > "\uffff" else 0
    length = len(text) + double
    if length > single and double:
        return _analyse_by_parts(text)
    if length <= single:
        segments, per_segment = (1 if text else 0), single
    else:
        segments, per_segment = -(-length // part), part
    non_gsm: tuple[str, ...] = ()
    if not gsm:
        non_gsm = tuple(dict.fromkeys(c for c in text if c not in _GSM_CHARS))
    return TextInfo(
        encoding=Encoding.GSM7 if gsm else Encoding.UCS2,
        length=length,
        segments=segments,
        per_segment=per_segment,
        remaining=per_segment * max(1, segments) - length,
        non_gsm_chars=non_gsm,
    )


def _analyse_by_parts(text: str) -> TextInfo:
    encoding = encoding_of(text)
    length = sum(_cost(c, encoding) for c in text)
    parts = split(text)
    single, part = (
        (SINGLE_GSM7, PART_GSM7) if encoding is Encoding.GSM7 else (SINGLE_UCS2, PART_UCS2)
    )
    per_segment = single if len(parts) <= 1 else part
    last_used = sum(_cost(c, encoding) for c in parts[-1]) if parts else 0
    non_gsm: dict[str, None] = {}
    if encoding is Encoding.UCS2:
        non_gsm = dict.fromkeys(c for c in text if c not in BASIC_CHARS and c not in _EXTENSION)
    return TextInfo(
        encoding=encoding,
        length=length,
        segments=len(parts),
        per_segment=per_segment,
        remaining=per_segment - last_used,
        non_gsm_chars=tuple(non_gsm),
    )


def validate_text(text: str, *, max_segments: int) -> TextInfo:
    if not text.strip():
        raise EmptyText()
    info = analyse(text)
    if info.segments > max_segments:
        raise TextTooLong(info.segments, max_segments)
    return info


def encode_septets(text: str) -> list[int]:
    """The GSM-7 septets of `text` (extension characters as ESC + code)."""
    septets: list[int] = []
    for c in text:
        if c in _BASIC_CODE:
            septets.append(_BASIC_CODE[c])
        elif c in _EXTENSION:
            septets += [ESC, _EXTENSION[c]]
        else:
            raise ValueError(f"{c!r} is not in the GSM 03.38 default alphabet")
    return septets


def decode_septets(septets: list[int]) -> str:
    out: list[str] = []
    escaped = False
    for s in septets:
        if not 0 <= s < 128:
            raise ValueError(f"{s} is not a septet")
        if escaped:
            # TS 23.038: an unknown extension code shows as the basic character.
            out.append(_EXTENSION_CHAR.get(s, _BASIC[s] if s != ESC else " "))
            escaped = False
        elif s == ESC:
            escaped = True
        else:
            out.append(_BASIC[s])
    if escaped:
        out.append(" ")  # a trailing ESC alone reads as a space (TS 23.038 note)
    return "".join(out)


# Fast forms of the same two tables for the PDU codec (smsdesk.sms.pdu): a whole text is
# converted by one C-level call (str.translate / bytes.translate / codecs.charmap_decode)
# instead of one Python step per character. Built from _BASIC and _EXTENSION above, so the
# project keeps one alphabet.
_NOT_GSM = "\x80"  # any non-ASCII result marks a character outside both tables
_SEPTETS_OF_CHAR: dict[int, str] = {i: _NOT_GSM for i in range(128)}
_SEPTETS_OF_CHAR.update({ord(c): chr(code) for c, code in _BASIC_CODE.items()})
_SEPTETS_OF_CHAR.update({ord(c): chr(ESC) + chr(code) for c, code in _EXTENSION.items()})
# Latin-1 texts (the common case: English, French, Spanish, German...) go through
# bytes.translate: 0x80 = not in the alphabet, 0x81 = in the extension table (two septets).
_LATIN1_SEPTET = bytes(
    _BASIC_CODE[chr(i)] if chr(i) in _BASIC_CODE else 0x81 if chr(i) in _EXTENSION else 0x80
    for i in range(256)
)
# Septet -> character; ESC stays "\x1b" and is resolved by from_septets.
_CHAR_OF_SEPTET = _BASIC + "\ufffe" * 128
# The basic character of an extension code -> the extension character it stands for after ESC.
_EXTENSION_AFTER_ESC = {_BASIC[code]: c for c, code in _EXTENSION.items()}


def to_septets(text: str) -> bytes | None:
    """The GSM-7 septets of `text`, one per byte (an extension character as ESC + code), or
    None when a character is in neither table (the text then needs UCS-2)."""
    try:
        septets = text.encode("latin-1").translate(_LATIN1_SEPTET)
    except UnicodeEncodeError:
        pass  # €, Greek capitals, or a character GSM-7 does not have: the general way
    else:
        if septets.isascii():  # no 0x80/0x81: one septet per character, done
            return septets
    converted = text.translate(_SEPTETS_OF_CHAR)
    return converted.encode("ascii") if converted.isascii() else None


def from_septets(septets: bytes) -> str:
    """The text of GSM-7 septets given one per byte (each < 128), read like decode_septets."""
    # a str is a decoding table too (the stdlib's encodings/cp*.py pass one); typeshed says maps
    text = codecs.charmap_decode(septets, "strict", _CHAR_OF_SEPTET)[0]  # type: ignore[arg-type]
    if "\x1b" not in text:
        return text
    out: list[str] = []
    start, end = 0, len(text)
    while (esc := text.find("\x1b", start)) >= 0:  # each round moves past one ESC: bounded
        out.append(text[start:esc])
        if esc + 1 == end:
            out.append(" ")  # a trailing ESC alone reads as a space
            return "".join(out)
        after = text[esc + 1]
        out.append(_EXTENSION_AFTER_ESC.get(after, " " if after == "\x1b" else after))
        start = esc + 2
    out.append(text[start:])
    return "".join(out)
