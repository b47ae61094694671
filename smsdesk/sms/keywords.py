"""Opt-out keywords. The manual: whoever sends only « STOP » is unsubscribed; "STOP" inside
a sentence ("don't stop") is a message, not an opt-out. START takes a number off the list.

The rule is the one of Twilio and the carriers (a message that IS the keyword, not one that
contains it: "STOP PLEASE" is not an opt-out there either; Kannel's "first word picks the
service" would make "STOP au bruit" one), applied to the text **as a person sees it on a
phone**, because a STOP that looks like STOP must be honoured:

- Unicode NFKC (full-width ｓｔｏｐ, 𝐒𝐓𝐎𝐏), case and accents ignored (ARRÊT = arret);
- invisible characters removed: zero-width spaces and joiners, the bidirectional controls, the
  byte-order mark, soft hyphens, variation selectors, tags (Unicode's default-ignorable code
  points); text under a right-to-left override is also read in the order it is shown
  (RLO + "POTS" shows "STOP");
- emoji, symbols and punctuation are not words ("STOP 🙏", "« stop »", "Stop !");
- the keyword may be repeated ("STOP STOP", "Stop. Stop!"), keywords of the list may follow
  each other ("stop arrêt");
- lines after it may be a signature: a phone's footer ("-- Envoyé de mon iPhone",
  "Sent from my…"), a line starting with a dash, or a name ("Marie", "Jean-Pierre D.").

Anything else is a message: a keyword with other words on its line ("Stop svp", "STOP au
bruit"), another word form ("STOPPE", "stoppez"), a line after it that is a sentence.
A word that is in both lists, or a mix of STOP and START, counts as STOP: when in doubt, do
not text.

Pure functions: the keyword lists come from the settings (SMSDESK_STOP_KEYWORDS,
SMSDESK_START_KEYWORDS) and are passed in; the defaults are the words below.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable

DEFAULT_OPT_OUT_KEYWORDS = (
    "stop",
    "stop sms",
    "stopsms",
    "arret",
    "unsubscribe",
    "desabonner",
    "desinscription",
)
DEFAULT_OPT_IN_KEYWORDS = ("start", "unstop")
# Backwards-compatible names (a keyword as it is compared: see `normalise`).
OPT_OUT_KEYWORDS = frozenset(DEFAULT_OPT_OUT_KEYWORDS)
OPT_IN_KEYWORDS = frozenset(DEFAULT_OPT_IN_KEYWORDS)

# A keyword message fits in one SMS once the invisible characters are gone; a longer text is
# a letter, never a keyword. The raw bound keeps the work small whatever arrives.
MAX_KEYWORD_MESSAGE = 160
MAX_RAW_MESSAGE = 2000
MAX_SIGNATURE_LINES = 3

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15): characters
# a phone does not draw. Format characters (Cf: the bidirectional controls among them) are
# removed too, whatever their block.
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)
_OVERRIDE = re.compile("\u202e([^\u202c\n]*)\u202c?")  # right-to-left override ... PDF
# What phones and mail apps append below a text.
_FOOTERS = (
    "envoye de ",
    "envoye depuis ",
    "envoye a partir ",
    "sent from ",
    "sent with ",
    "get outlook ",
    "telecharger outlook ",
    "obtenir outlook ",
)
# A name as people sign: one to three capitalised words ("Marie", "Jean-Pierre D.", "M. Dupont").
_NAME = re.compile(r"(?:[^\W\d_][\w'’.-]*)(?: [^\W\d_][\w'’.-]*){0,2}")


class Keyword(enum.Enum):
    STOP = "stop"
    START = "start"


def visible(text: str) -> str:
    """`text` in NFKC without the characters a screen does not show."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in _IGNORABLE.sub("", text) if unicodedata.category(c) != "Cf")


def normalise(text: str) -> str:
    """The words of `text`, lower case, without accents, punctuation, symbols or emoji,
    single-spaced: "  Arrêt ! " -> "arret", "« Stop  SMS » 🙏" -> "stop sms"."""
    text = unicodedata.normalize("NFKD", visible(text).casefold())
    words = "".join(
        c if unicodedata.category(c)[0] in "LN" else " "
        for c in text
        if not unicodedata.category(c).startswith("M")
    )
    return " ".join(words.split())


def keyword_set(words: Iterable[str]) -> frozenset[str]:
    """Keywords as configured ("ARRÊT", "Stop SMS") in the form they are compared."""
    return frozenset(w for w in (normalise(word) for word in words) if w)


@functools.lru_cache(maxsize=16)
def _keyword_words(words: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(k.split()) for k in keyword_set(words))


def classify(
    body: str,
    *,
    opt_out: Iterable[str] = DEFAULT_OPT_OUT_KEYWORDS,
    opt_in: Iterable[str] = DEFAULT_OPT_IN_KEYWORDS,
) -> Keyword | None:
    """STOP or START when the message is only keywords (and maybe a signature), else None."""
    if len(body) > MAX_RAW_MESSAGE:
        return None
    stops, starts = _keyword_words(tuple(opt_out)), _keyword_words(tuple(opt_in))
    found = {_classify_lines(reading, stops, starts) for reading in _readings(body)}
    if Keyword.STOP in found:
        return Keyword.STOP
    return Keyword.START if Keyword.START in found else None


def _readings(body: str) -> list[str]:
    """The text in memory order, and (when it holds a right-to-left override) as shown."""
    readings = [visible(body)]
    if "\u202e" in body:
        shown = _OVERRIDE.sub(lambda m: m.group(1)[::-1], unicodedata.normalize("NFKC", body))
        readings.append(visible(shown))
    return readings


def _classify_lines(
    text: str, stops: frozenset[tuple[str, ...]], starts: frozenset[tuple[str, ...]]
) -> Keyword | None:
    if len(" ".join(text.split())) > MAX_KEYWORD_MESSAGE:
        return None
    lines = [line.strip() for line in text.splitlines() if normalise(line)]
    if not lines:
        return None
    kinds = _keywords_only(normalise(lines[0]), stops, starts)
    if not kinds or len(lines) - 1 > MAX_SIGNATURE_LINES:
        return None
    for line in lines[1:]:
        again = _keywords_only(normalise(line), stops, starts)
        if again:
            kinds |= again
        elif not _is_signature(line):
            return None
    return Keyword.STOP if Keyword.STOP in kinds else Keyword.START


def _keywords_only(
    text: str, stops: frozenset[tuple[str, ...]], starts: frozenset[tuple[str, ...]]
) -> set[Keyword]:
    """The kinds of keyword `text` is made of, one after the other; empty when it holds any
    other word. ("stop stop" -> {STOP}; "stop sms" is one keyword; "stop svp" -> {}.)"""
    words = tuple(text.split())
    known = [(k, Keyword.STOP) for k in stops] + [(k, Keyword.START) for k in starts]
    # reachable[i]: the kinds used to read words[:i] as keywords (None: cannot be read)
    reachable: list[set[Keyword] | None] = [set()] + [None] * len(words)
    for i in range(len(words)):
        before = reachable[i]
        if before is None:
            continue
        for keyword, kind in known:
            end = i + len(keyword)
            if words[i:end] == keyword:
                reachable[end] = (reachable[end] or set()) | before | {kind}
    if not words or reachable[-1] is None:
        return set()
    return reachable[-1]


def _is_signature(line: str) -> bool:
    """A phone's footer, a line that starts with a dash, or a name."""
    if line[:1] in "-—–_":
        return True
    if (normalise(line) + " ").startswith(_FOOTERS):
        return True
    letters = " ".join(
        "".join(c for c in word if unicodedata.category(c)[0] in "LP") for word in line.split()
    ).strip()
    words = letters.split()
    return bool(_NAME.fullmatch(letters)) and all(w[0].isupper() for w in words)


def is_opt_out(body: str, keywords: Iterable[str] = DEFAULT_OPT_OUT_KEYWORDS) -> bool:
    return classify(body, opt_out=keywords, opt_in=()) is Keyword.STOP


def is_opt_in(body: str, keywords: Iterable[str] = DEFAULT_OPT_IN_KEYWORDS) -> bool:
    return classify(body, opt_out=(), opt_in=keywords) is Keyword.START
