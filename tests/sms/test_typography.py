"""Smart encoding (sms/typography.py): typographic characters become GSM look-alikes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smsdesk.sms import gsm7
from smsdesk.sms.typography import TABLE, Replacement, replace

GSM = sorted(gsm7.BASIC_CHARS | gsm7.EXTENSION_CHARS)
TYPOGRAPHIC = sorted(TABLE)


def test_a_french_notice_stays_one_gsm_sms() -> None:
    typed = "l’AG aura lieu « demain » – salle 2… Merci\u00a0!"
    assert gsm7.analyse(typed).encoding == gsm7.Encoding.UCS2
    result = replace(typed)
    assert result.text == 'l\'AG aura lieu " demain " - salle 2... Merci !'
    info = gsm7.analyse(result.text)
    assert (info.encoding, info.segments) == (gsm7.Encoding.GSM7, 1)
    assert result.replaced[:3] == (
        Replacement("’", "'", 1),
        Replacement("«", '"', 1),
        Replacement("»", '"', 1),
    )


def test_letters_are_never_changed() -> None:
    text = "Être à l'hôtel en août, ça coûte"
    assert replace(text).text == text and not replace(text).changed


def test_every_replacement_is_gsm() -> None:
    for char, by in TABLE.items():
        assert char not in GSM, char  # only what would force Unicode is in the table
        assert all(c in GSM for c in by), char


@given(st.text(alphabet=st.sampled_from(GSM + TYPOGRAPHIC)))
def test_a_text_of_gsm_and_typographic_characters_becomes_gsm(text: str) -> None:
    result = replace(text)
    assert gsm7.encoding_of(result.text) == gsm7.Encoding.GSM7
    assert sum(r.count for r in result.replaced) == sum(c in TABLE for c in text)


@given(st.text())
def test_it_changes_only_the_table_and_is_idempotent(text: str) -> None:
    result = replace(text)
    assert replace(result.text).text == result.text and not replace(result.text).changed
    # one character at a time: what is outside the table is kept, in its place
    assert result.text == "".join(TABLE.get(c, c) for c in text)


@given(st.text(alphabet=st.sampled_from(GSM)))
def test_a_gsm_text_is_left_alone(text: str) -> None:
    assert replace(text).text == text and replace(text).replaced == ()
