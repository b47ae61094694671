"""The keyword matching, case by case: what opts out, what re-subscribes, what is a message."""

from __future__ import annotations

import pytest

from smsdesk.sms.keywords import Keyword, classify, is_opt_in, is_opt_out, keyword_set, normalise

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
    "stop?",
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
    "arrêt",
    "ARRÊT",
    "Arret",
    "arrêt !",
    "unsubscribe",
    "Désabonner",
    "desinscription",
    "Désinscription.",
    "ｓｔｏｐ",  # full-width letters, as some phones send them
    "...stop...",
]

NOT_STOPS = [
    "",
    "   ",
    "!",
    "stop please",
    "Stop svp",
    "Don't stop",
    "STOPPER",
    "stops",
    "non merci stop",
    "Merci, stop pour moi",
    "Pouvez-vous arrêter ?",
    "stop stop",
    "s t o p",
    "st0p",
    "top",
    "sto",
    "Arrêtez",
    "J'aimerais me désabonner",
    "Je voudrais que vous arrêtiez de m'envoyer des messages, stop",
    "stop " + "x" * 40,  # a keyword with a long tail is a sentence
    "STOP." + " " * 40,  # over the length bound, even if only blanks follow
    "start",
    "START",
    "Bonjour",
    "OK",
    "Oui",
    "stop-sms-now",
    "stopper sms",
    "stop 🙏",
    "arret de bus",
    "STOP ou encore",
]

STARTS = ["START", "start", "Start.", "Start !", "« start »", "unstop", "UNSTOP!", " start\n"]
NOT_STARTS = ["Start now", "restart", "started", "je veux start", "STOP", "", "starts"]


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
    assert len(STOPS) >= 30 and len(NOT_STOPS) >= 30


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
