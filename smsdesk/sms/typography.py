"""Typographic characters replaced by their GSM 03.38 look-alikes ("smart encoding").

Word processors, phones and Outlook type ’ « » – … and non-breaking spaces by themselves.
None of them is in the GSM 7-bit alphabet, so one of them turns a whole SMS into UCS-2: 70
characters a part instead of 160, often twice the bill. `replace` swaps each for what a phone
shows nearly the same, so that a text that had only those stays GSM-7. Letters are never
changed (ê, ô, ç stay: they would change the spelling); only punctuation, spaces and
ligatures, from the table below, which is the whole rule (README "Typographic characters").

| typed | sent | characters |
| --- | --- | --- |
| apostrophes, single quotes, primes, backtick, acute accent | `'` | ’ ‘ ‚ ‛ ′ ‹ › ` ´ ʼ ʹ |
| double quotes, guillemets | `"` | “ ” „ ‟ « » ″ ‶ |
| dashes, hyphens, minus | `-` | ‐ ‑ ‒ – — ― − ⁃ |
| ellipsis | `...` | … |
| spaces of every width | ` ` (space) | U+00A0 U+2000–U+200A U+202F U+205F U+3000 |
| invisible characters | (removed) | U+00AD soft hyphen, U+200B–U+200D, U+2060, U+FEFF |
| bullets | `-` | • ‣ ◦ ⁌ ⁍ · (middle dot) |
| ligatures | the letters | œ Œ ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ |
| others | x / o/oo TM (c) (R) 1/4 1/2 3/4 | × ÷ ‰ ™ © ® ¼ ½ ¾ |

Pure: no Django, no I/O. The text stored is the text sent, so the caller replaces before
it saves (messaging.sending: `smart_encoding=True`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

_GROUPS: tuple[tuple[str, str], ...] = (
    ("’‘‚‛′‹›`´ʼʹ", "'"),
    ("“”„‟«»″‶", '"'),
    ("‐‑‒–—―−⁃", "-"),
    ("•‣◦⁌⁍·", "-"),
    (
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000",
        " ",
    ),
    ("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
)
_SINGLE: dict[str, str] = {
    "…": "...",
    "œ": "oe",
    "Œ": "OE",
    "ﬀ": "ff",
    "ﬁ": "fi",
    "ﬂ": "fl",
    "ﬃ": "ffi",
    "ﬄ": "ffl",
    "ﬅ": "st",
    "ﬆ": "st",
    "×": "x",
    "÷": "/",
    "‰": "o/oo",
    "™": "TM",
    "©": "(c)",
    "®": "(R)",
    "¼": "1/4",
    "½": "1/2",
    "¾": "3/4",
}

TABLE: dict[str, str] = {c: by for chars, by in _GROUPS for c in chars} | _SINGLE
_TRANSLATION = str.maketrans(TABLE)


@dataclass(frozen=True)
class Replacement:
    char: str  # as typed
    by: str  # as sent ("" when removed)
    count: int


@dataclass(frozen=True)
class Smartened:
    text: str
    replaced: tuple[Replacement, ...]  # in the order of first appearance

    @property
    def changed(self) -> bool:
        return bool(self.replaced)


def replace(text: str) -> Smartened:
    """`text` with every character of TABLE replaced, and what was replaced how often."""
    counts = Counter(c for c in text if c in TABLE)
    if not counts:
        return Smartened(text, ())
    return Smartened(
        text.translate(_TRANSLATION),
        tuple(Replacement(c, TABLE[c], n) for c, n in counts.items()),
    )
