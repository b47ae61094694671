"""Opt-out keywords. The manual: whoever sends only « STOP » is unsubscribed; "STOP" inside
a sentence ("don't stop") is a message, not an opt-out."""

from __future__ import annotations

import unicodedata

OPT_OUT_KEYWORDS = frozenset(
    {"stop", "stop sms", "stopsms", "arret", "unsubscribe", "desabonner", "desinscription"}
)
OPT_IN_KEYWORDS = frozenset({"start", "unstop"})


def _normalise(body: str) -> str:
    text = unicodedata.normalize("NFKD", body.strip().rstrip(".!").strip().casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def is_opt_out(body: str) -> bool:
    return len(body) <= 40 and _normalise(body) in OPT_OUT_KEYWORDS


def is_opt_in(body: str) -> bool:
    return len(body) <= 40 and _normalise(body) in OPT_IN_KEYWORDS
