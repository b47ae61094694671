"""The keyword matching, case by case: what opts out, what re-subscribes, what is a message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.sms.keywords import (
    DEFAULT_OPT_IN_KEYWORDS,
    DEFAULT_OPT_OUT_KEYWORDS,
    Keyword,
    classify,
    is_opt_in,
    is_opt_out,
    keyword_set,
    normalise,
)

# Real-world ways of writing STOP that must opt out: typed, pasted, dictated, sent from a
# phone that adds a signature, or carrying characters a screen does not show.
STOPS = [
    "STOP",
    "stop",
    "Stop",
    " stop ",
    "Stop.",
    "STOP.",
    "STOP!",
    "Stop !",  # French typography: a space before « ! »
    "Stop\u00a0!",  # ... often a no-break space
    "Stop\u202f!",  # ... or a narrow one
    "STOP !!!",
    "stop?",  # alone, a STOP all the same: when in doubt, do not text
    "« STOP »",
    '"stop"',
    "(stop)",
    "STOP\n",
    "\tSTOP\r\n",
    "Stop SMS",
    "STOP SMS",
    "stop  sms",
    "stopsms",
    "STOPSMS.",
    "Stop-SMS",
    "arrêt",
    "ARRÊT",
    "Arret",
    "arrêt !",
    "unsubscribe",
    "Désabonner",
    "desinscription",
    "Désinscription.",
    "ｓｔｏｐ",  # full-width letters, as some phones send them
    "𝐒𝐓𝐎𝐏",  # mathematical bold, pasted from a "fancy text" site
    "...stop...",
    # invisible characters: each of these looks exactly like STOP on a screen
    "STOP\u200b",  # a zero-width space after it
    "\u202eSTOP",  # a right-to-left override before it
    "\u202ePOTS",  # ... and the one that shows "STOP" because of it
    "\ufeffSTOP",  # a byte-order mark from a copy and paste
    "S\u200dT\u200cO\u2060P",  # joiners and a word joiner between the letters
    "STOP\u00ad",  # a soft hyphen
    "\u200eStop\u200f",  # left-to-right and right-to-left marks
    "STOP\u2028",  # a Unicode line separator
    # repeated, with emoji and punctuation
    "STOP STOP",
    "stop stop stop",
    "Stop. Stop!",
    "STOP\nSTOP",
    "STOP SMS STOP",
    "stop arrêt",
    "STOP 🙏",
    "🛑 STOP 🛑",
    "STOP 😡😡",
    "stop 👍🏽",
    "STOP ✋",
    "❌ Stop ❌",
    # a signature below it
    "stop\n-- Envoyé de mon iPhone",
    "Stop\nMarie",
    "STOP\n\nEnvoyé depuis mon Samsung Galaxy",
    "Stop\nJean-Pierre Dupont",
    "stop\nSent from my iPhone",
    "STOP\n-- \nM. Martin",
    "Stop\n- Karim",
    "STOP\nGet Outlook for Android",
]

# Messages that are not an opt-out: another word form, a sentence, a question about STOP, a
# line after it that says something.
NOT_STOPS = [
    "",
    "   ",
    "!",
    "🛑",  # an emoji alone is not a word
    "\u200b",
    "stop please",
    "Stop svp",
    "Don't stop",
    "STOPPER",
    "STOPPE",
    "stoppez",
    "ne stoppez pas",
    "Ne stoppez pas !",
    "stops",
    "STOPS",
    "non merci stop",
    "Merci, stop pour moi",
    "Pouvez-vous arrêter ?",
    "s t o p",
    "st0p",
    "top",
    "sto",
    "Arrêtez",
    "Arrête",
    "arrêts",
    "J'aimerais me désabonner",
    "Je voudrais que vous arrêtiez de m'envoyer des messages, stop",
    "stop " + "x" * 40,  # a keyword with a long tail is a sentence
    "start",
    "START",
    "Bonjour",
    "OK",
    "Oui",
    "stop-sms-now",
    "stopper sms",
    "stop 🙏 merci",
    "arret de bus",
    "STOP ou encore",
    "Stop ou encore ?",
    "STOP au bruit",
    "Stop à la pub",
    "STOP à 20h",
    "Stop the party",
    "Bus stop",
    "Non-stop",
    "nonstop",
    "stopover",
    "STOP-bruit",
    # questions about STOP
    "stop?? c'est quoi ce numéro",
    "C'est quoi STOP ?",
    "Je dois répondre stop ?",
    "Pourquoi stop ?",
    "stop ? pourquoi",
    "On stop tout ?",
    # a line after STOP that is a sentence, not a signature
    "Stop\nthe party",
    "STOP\nau bruit",
    "STOP\nJe plaisante, continuez",
    "STOP\nMerci de me rappeler au 06 12 34 56 78",
    "stop\nmerci de ne plus m'écrire",
    "STOP\nMarie\nPaul\nJean\nLuc",  # four lines after it: a list, not a signature
    # a long message that contains stop
    "Bonjour, je voulais savoir si le rendez-vous de demain est maintenu, sinon stop.",
    "STOP " * 40,  # longer than one SMS: a letter, not a keyword
]

STARTS = [
    "START",
    "start",
    "Start.",
    "Start !",
    "« start »",
    "unstop",
    "UNSTOP!",
    " start\n",
    "START\u200b",
    "start start",
    "Start 👍",
    "start\nMarie",
]
NOT_STARTS = [
    "Start now",
    "restart",
    "started",
    "je veux start",
    "STOP",
    "",
    "starts",
    "Start the engine",
    "start stop",  # a mix counts as STOP
]


@pytest.mark.parametrize("body", STOPS)
def test_these_opt_out(body: str) -> None:
    assert is_opt_out(body)
    assert classify(body) is Keyword.STOP


@pytest.mark.parametrize("body", NOT_STOPS)
def test_these_are_messages_not_opt_outs(body: str) -> None:
    assert not is_opt_out(body)
    assert classify(body) is not Keyword.STOP


@pytest.mark.parametrize("body", STARTS)
def test_these_re_subscribe(body: str) -> None:
    assert is_opt_in(body)
    assert classify(body) is Keyword.START


@pytest.mark.parametrize("body", NOT_STARTS)
def test_these_do_not_re_subscribe(body: str) -> None:
    assert not is_opt_in(body)
    assert classify(body) is not Keyword.START


def test_the_tables_are_big_enough() -> None:
    assert len(STOPS) >= 40 and len(NOT_STOPS) >= 40


def test_configured_keywords_are_compared_the_same_way() -> None:
    # An administrator writes them as they come ("ARRÊT", "Fin SMS"): accents, case, spaces.
    words = ["ARRÊT", "  Fin   SMS ", "Halte!"]
    assert keyword_set(words) == {"arret", "fin sms", "halte"}
    assert classify("fin sms", opt_out=words, opt_in=["GO"]) is Keyword.STOP
    assert classify("halte", opt_out=words, opt_in=["GO"]) is Keyword.STOP
    assert classify("Go !", opt_out=words, opt_in=["GO"]) is Keyword.START
    # The defaults no longer apply once replaced.
    assert classify("stop", opt_out=words, opt_in=["GO"]) is None


def test_a_word_in_both_lists_counts_as_stop() -> None:
    assert classify("stop", opt_out=["stop"], opt_in=["stop"]) is Keyword.STOP


def test_normalise() -> None:
    assert normalise("  Arrêt ! ") == "arret"
    assert normalise("« Stop  SMS »") == "stop sms"


# --- properties: what a screen does not show changes nothing ------------------------------
# Characters no phone draws (Unicode's default-ignorable code points, among them the
# bidirectional controls); the overrides (U+202D, U+202E) reorder what is shown.
INVISIBLE = [
    "\u00ad", "\u034f", "\u061c", "\u115f", "\u180e", "\u200b", "\u200c", "\u200d",
    "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2060",
    "\u2061", "\u2066", "\u2067", "\u2068", "\u2069", "\u206f", "\u3164", "\ufe0f",
    "\ufeff", "\uffa0", "\U0001d173", "\U000e0041", "\U000e007f",
]  # fmt: skip
NOT_REORDERING = [c for c in INVISIBLE if c not in "\u202d\u202e"]
# Without the characters that open or close a directional run: inserted into "\u202ePOTS"
# (which shows STOP), a pop (U+202C) right after the override ends it, and the phone then
# shows POTS; such a message is rightly not an opt-out (Hypothesis found it).
NOT_DIRECTIONAL = [
    c for c in INVISIBLE if not ("\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069")
]


def sprinkle(text: str, picks: list[tuple[int, str]]) -> str:
    """`text` with each (position, characters) of `picks` inserted."""
    chars = list(text)
    for position, inserted in sorted(picks, reverse=True):
        chars.insert(position % (len(text) + 1), inserted)
    return "".join(chars)


def insertions(alphabet: list[str]) -> st.SearchStrategy[list[tuple[int, str]]]:
    return st.lists(
        st.tuples(st.integers(0, 200), st.text(st.sampled_from(alphabet), min_size=1, max_size=5)),
        max_size=8,
    )


@given(
    keyword=st.sampled_from([*DEFAULT_OPT_OUT_KEYWORDS, "Désinscription", "STOP SMS"]),
    picks=insertions(INVISIBLE),
)
def test_a_stop_keyword_with_invisible_characters_anywhere_still_opts_out(
    keyword: str, picks: list[tuple[int, str]]
) -> None:
    assert classify(sprinkle(keyword, picks)) is Keyword.STOP


@given(keyword=st.sampled_from(DEFAULT_OPT_IN_KEYWORDS), picks=insertions(INVISIBLE))
def test_a_start_keyword_with_invisible_characters_anywhere_still_re_subscribes(
    keyword: str, picks: list[tuple[int, str]]
) -> None:
    assert classify(sprinkle(keyword, picks)) is Keyword.START


@given(body=st.sampled_from(STOPS), picks=insertions(NOT_DIRECTIONAL))
def test_every_stop_of_the_table_survives_invisible_characters(
    body: str, picks: list[tuple[int, str]]
) -> None:
    assert classify(sprinkle(body, picks)) is Keyword.STOP


@given(body=st.sampled_from(NOT_STOPS), picks=insertions(NOT_REORDERING))
def test_invisible_characters_never_make_a_message_an_opt_out(
    body: str, picks: list[tuple[int, str]]
) -> None:
    assert classify(sprinkle(body, picks)) is not Keyword.STOP


@given(st.text(max_size=300))
def test_any_text_is_classified_without_error(body: str) -> None:
    assert classify(body) in (Keyword.STOP, Keyword.START, None)


def test_configured_keywords_get_the_same_tolerance() -> None:
    words = ["ARRÊT", "Fin SMS"]
    assert classify("fin\u200b sms 🙏\n-- Marie", opt_out=words, opt_in=["GO"]) is Keyword.STOP
    assert classify("ARRET ARRÊT", opt_out=words, opt_in=["GO"]) is Keyword.STOP
    assert classify("\u202eOG", opt_out=words, opt_in=["GO"]) is Keyword.START
