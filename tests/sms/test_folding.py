from hypothesis import given
from hypothesis import strategies as st

from smsdesk.sms.folding import fold


def test_it_ignores_accents_and_case() -> None:
    assert fold("Hélène") == "helene"
    assert fold("JÉRÔME") == "jerome"
    assert fold("Zoé") == "zoe"
    assert fold("Maë") == "mae"
    assert fold("ŒUVRE Æther straße") == "oeuvre aether strasse"
    assert fold("Łódź Øre") == "lodz ore"
    assert fold("ﬁne") == "fine"
    assert fold("l’AG") == "l'ag"


def test_it_keeps_what_has_no_accent() -> None:
    assert fold("dupont 06 12") == "dupont 06 12"


@given(st.text())
def test_it_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(), st.text())
def test_a_folded_part_stays_inside_the_folded_whole(a: str, b: str) -> None:
    # what makes `contains(fold(typed))` find a name typed in part: folding a piece of a
    # name gives a piece of the folded name (spaces keep the pieces apart)
    assert fold(a) in fold(a + " " + b)
