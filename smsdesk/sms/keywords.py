"""Opt-out keywords. The manual: whoever sends only « STOP » is unsubscribed; "STOP" inside
a sentence ("don't stop") is a message, not an opt-out. START takes a number off the list.

Pure functions: the keyword lists come from the settings (SMSDESK_STOP_KEYWORDS,
SMSDESK_START_KEYWORDS) and are passed in; the defaults are the words below.
"""

from __future__ import annotations

import enum
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

# A keyword is a word or two: a longer message is a sentence, never a keyword.
MAX_KEYWORD_MESSAGE = 40
# Around the word a phone or a person adds: punctuation (French puts a space before « ! »),
# quotes, and the no-break spaces French keyboards type.
_EDGE = " \t\r\n\u00a0\u202f.!?,;:…«»\"'“”‘’()[]-_*~"


class Keyword(enum.Enum):
    STOP = "stop"
    START = "start"


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation around, single spaces: "  Arrêt ! " -> "arret"."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.strip(_EDGE).split())


def keyword_set(words: Iterable[str]) -> frozenset[str]:
    """Keywords as configured ("ARRÊT", "Stop SMS") in the form they are compared."""
    return frozenset(w for w in (normalise(word) for word in words) if w)


def classify(
    body: str,
    *,
    opt_out: Iterable[str] = DEFAULT_OPT_OUT_KEYWORDS,
    opt_in: Iterable[str] = DEFAULT_OPT_IN_KEYWORDS,
) -> Keyword | None:
    """STOP or START when the whole message is one of the keywords, else None.

    A word that is in both lists counts as STOP: when in doubt, do not text.
    """
    if len(body) > MAX_KEYWORD_MESSAGE:
        return None
    text = normalise(body)
    if not text:
        return None
    if text in keyword_set(opt_out):
        return Keyword.STOP
    if text in keyword_set(opt_in):
        return Keyword.START
    return None


def is_opt_out(body: str, keywords: Iterable[str] = DEFAULT_OPT_OUT_KEYWORDS) -> bool:
    return classify(body, opt_out=keywords, opt_in=()) is Keyword.STOP


def is_opt_in(body: str, keywords: Iterable[str] = DEFAULT_OPT_IN_KEYWORDS) -> bool:
    return classify(body, opt_out=(), opt_in=keywords) is Keyword.START
